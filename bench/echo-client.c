/* echo-client PORT N GAP_US [TOUCH_KB]: N round trips of a 64-byte datagram, one at a time, on a
   fresh socket, GAP_US between an answer and the next datagram (ipmitool's pace); a datagram lost
   for 1 s is sent again, as ipmitool does. TOUCH_KB: after each answer the client also writes one
   byte in every cache line of a TOUCH_KB buffer, as ipmitool's own work between datagrams (OpenSSL,
   a process start between sessions) empties the caches the server wakes up with. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/time.h>
int main(int argc, char **argv) {
    if (argc < 4) return 2;
    long gap = atol(argv[3]);
    struct timespec pause = {gap / 1000000, (gap % 1000000) * 1000};
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1])),
                            .sin_addr.s_addr = htonl(0x7f000001)};
    struct timeval tv = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(s, (struct sockaddr *)&a, sizeof a)) return 1;
    char buf[1500] = {0};
    long touch = argc > 4 ? atol(argv[4]) * 1024 : 0;
    volatile char *junk = touch > 0 ? calloc(touch, 1) : NULL;
    for (long i = 0, n = atol(argv[2]); i < n; i++) {
        do send(s, buf, 64, 0); while (recv(s, buf, sizeof buf, 0) < 0);
        for (long j = 0; junk && j < touch; j += 64) junk[j]++;
        if (gap > 0) nanosleep(&pause, NULL);
    }
    return 0;
}
