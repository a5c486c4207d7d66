/* The floor of the CPU benchmarks: a blocking UDP echo server on 127.0.0.1:PORT that does
   nothing else (bench/cpu-per-request.sh, bench/profile-request-path.sh). Usage: echo PORT */
#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1])),
                            .sin_addr.s_addr = htonl(0x7f000001)};
    if (argc < 2 || bind(s, (struct sockaddr *)&a, sizeof a)) return 1;
    char buf[1500];
    for (;;) {
        struct sockaddr_in p;
        socklen_t pl = sizeof p;
        ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&p, &pl);
        if (n > 0) sendto(s, buf, n, 0, (struct sockaddr *)&p, pl);
    }
}
