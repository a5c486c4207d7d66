//! The virtual media download of the libvirt backend against a real HTTP server on loopback:
//! the image lands whole in an anonymous file of the spool directory (made 0700, left empty);
//! other schemes, a 404, an image over the size bound and a server that never answers are
//! refused with why, never with the URL (it may hold a password).

use backend_libvirt::media::download;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;
use test_support::netboot::NetbootServer;

fn until(ms: u64) -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_millis(ms)
}

#[tokio::test]
async fn the_image_is_spooled_whole_and_nothing_stays() {
    let image: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let net = NetbootServer::start(vec![("a.iso".into(), image.clone())]);
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("state/libvirt-media");
    let (mut file, size) = download(
        &net.url("/files/a.iso"),
        1 << 20,
        Some(&spool),
        until(20_000),
    )
    .await
    .unwrap();
    assert_eq!(size, image.len() as u64);
    let mut got = Vec::new();
    file.read_to_end(&mut got).unwrap();
    assert!(got == image, "the spooled file is not the image");
    let mode = std::fs::metadata(&spool).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert_eq!(
        std::fs::read_dir(&spool).unwrap().count(),
        0,
        "the file has no name"
    );
}

#[tokio::test]
async fn what_cannot_be_taken_is_refused_with_why() {
    let net = NetbootServer::start(vec![("big.iso".into(), vec![1u8; 3 << 20])]);
    let dir = tempfile::tempdir().unwrap();
    let spool = Some(dir.path());
    let secret = "http://user:pw-9c1f@127.0.0.1:1/x.iso";
    for (url, max, why) in [
        (
            "ftp://127.0.0.1/x.iso".to_string(),
            1 << 20,
            "only http:// and https://",
        ),
        (
            "file:///etc/passwd".to_string(),
            1 << 20,
            "only http:// and https://",
        ),
        (net.url("/files/none.iso"), 1 << 20, "answered 404"),
        (
            net.url("/files/big.iso"),
            2 << 20,
            "larger than media_max_mb (2 MiB)",
        ),
        (secret.to_string(), 1 << 20, "image download:"),
    ] {
        let e = download(&url, max, spool, until(20_000))
            .await
            .expect_err(&url);
        assert!(e.contains(why), "{url}: {e}");
        assert!(
            !e.contains("pw-9c1f"),
            "the URL's password in the error: {e}"
        );
    }
    // A server that takes the connection and never answers: the deadline ends it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/slow.iso", listener.local_addr().unwrap());
    let e = download(&url, 1 << 20, spool, until(500))
        .await
        .expect_err("no answer");
    assert!(e.contains("not downloaded within media_timeout_ms"), "{e}");
    drop(listener);
}
