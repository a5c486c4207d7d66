//! The reloader on its own: reloads one at a time, none once closed, none without a file.

use super::*;

fn sim(name: &str, port: u16) -> String {
    format!("[[bmc]]\nname = \"{name}\"\nlisten = \"127.0.0.1:{port}\"\nbackend = \"sim\"\n[[bmc.users]]\nname = \"admin\"\npassword = \"reloader-pass\"\nprivilege = \"administrator\"\n")
}

fn fleet() -> (Arc<Fleet>, Arc<Mutex<BackendFactory>>) {
    let factory = Arc::new(Mutex::new(BackendFactory::default()));
    (Arc::new(Fleet::new(factory.clone())), factory)
}

#[tokio::test]
async fn reloads_run_one_at_a_time_and_none_once_closed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    let (a, b) = (test_support::free_port(), test_support::free_port());
    std::fs::write(&path, sim("a", a)).unwrap();
    let (fleet, factory) = fleet();
    let r = Arc::new(
        Reloader::start(fleet.clone(), factory, Loaded::read(&path).unwrap())
            .await
            .unwrap(),
    );
    assert_eq!(fleet.names(), ["a"]);
    std::fs::write(&path, format!("{}{}", sim("a", a), sim("b", b))).unwrap();
    // Two at once: one applies the change, the other finds nothing left to do.
    let (one, two) = tokio::join!(r.reload("one"), r.reload("two"));
    let (one, two) = (one.unwrap(), two.unwrap());
    let mut started: Vec<&String> = one.started.iter().chain(&two.started).collect();
    started.sort();
    assert_eq!(started, ["b"]);
    assert_eq!(one.unchanged + two.unchanged, 1 + 2);
    let mut names = fleet.names();
    names.sort();
    assert_eq!(names, ["a", "b"]);

    r.close().await;
    std::fs::write(&path, sim("a", a)).unwrap();
    let refused = r.reload("late").await.unwrap_err();
    assert!(matches!(refused, ReloadError::ShuttingDown), "{refused}");
    assert_eq!(refused.http_status(), 503);
    assert_eq!(fleet.names().len(), 2, "a refused reload changed the fleet");
}

#[tokio::test]
async fn without_a_file_there_is_nothing_to_reload() {
    let text = sim("a", test_support::free_port());
    let config = crate::config::parse_all("<built-in>", &text, Path::new(".")).unwrap();
    let (fleet, factory) = fleet();
    let r = Reloader::start(fleet, factory, Loaded::built_in(config))
        .await
        .unwrap();
    let e = r.reload("test").await.unwrap_err();
    assert!(matches!(e, ReloadError::NoFile), "{e}");
    assert_eq!(outcome_label(&Err(e)), "refused");
}
