//! The API client against the fake Metal API: an answer larger than the client's limit is an
//! error once the limit is passed (whether or not it says its length), not memory, and a page
//! of 1000 devices still fits.

use backend_metal::api::{http_client, ApiError, MetalApi, Policy, MAX_DEVICE_BODY};
use fake_metal::{DeviceSpec, Fake, FakeConfig, Fault};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use zeroize::Zeroizing;

const TOKEN: &str = "limits-token";
const PROJECT: &str = "0f0c3a4e-1111-4a5e-9d7e-000000000000";

fn device_id(n: u32) -> String {
    format!("6e2b7f4c-3c1a-4a5e-9d7e-{n:012}")
}

fn device(n: u32) -> DeviceSpec {
    DeviceSpec {
        id: device_id(n),
        hostname: format!("node-{n}"),
        project_id: PROJECT.into(),
        plan: "c3.small.x86".into(),
        facility: "da11".into(),
        metro: "da".into(),
        state: "active".into(),
        tags: vec!["ipmi".into()],
        always_pxe: false,
        ipxe_script_url: None,
    }
}

/// The fake with `n` devices, served in this runtime, and a client of it.
async fn fake_and_client(n: u32) -> (Arc<Fake>, MetalApi) {
    let config = FakeConfig {
        token: TOKEN.into(),
        transition: Duration::from_millis(10),
        exchange_log: None,
        rate_limit: None,
    };
    let fake = Fake::new(config, (1..=n).map(device).collect()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/metal/v1", listener.local_addr().unwrap());
    tokio::spawn(fake.clone().serve(listener));
    let policy = Policy {
        retries: 0,
        ..Policy::default()
    };
    let api = MetalApi::new(http_client(), &url, Zeroizing::new(TOKEN.into()), policy);
    (fake, api)
}

fn deadline() -> Instant {
    Instant::now() + Duration::from_secs(20)
}

#[tokio::test]
async fn an_answer_past_the_limit_is_an_error_and_the_next_call_works() {
    let (fake, api) = fake_and_client(1).await;
    let over = MAX_DEVICE_BODY as u64 + 1;
    for chunked in [false, true] {
        fake.inject(
            Fault::Huge {
                bytes: over,
                chunked,
            },
            1,
        );
        let e = api.device(&device_id(1), deadline()).await.unwrap_err();
        assert_eq!(
            e,
            ApiError::TooLarge {
                limit: MAX_DEVICE_BODY
            },
            "chunked: {chunked}"
        );
        let d = api.device(&device_id(1), deadline()).await.unwrap();
        assert_eq!(d.id, device_id(1));
    }
    // A listing may be larger than one device, but not without bound.
    fake.inject(
        Fault::Huge {
            bytes: 64 << 20,
            chunked: true,
        },
        1,
    );
    let e = api
        .project_devices(PROJECT, "ipmi", (100, 10_000), deadline())
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::TooLarge { .. }), "{e:?}");
}

#[tokio::test]
async fn a_page_of_a_thousand_devices_fits() {
    let (_fake, api) = fake_and_client(1000).await;
    let devices = api
        .project_devices(PROJECT, "ipmi", (1000, 10_000), deadline())
        .await
        .unwrap();
    assert_eq!(devices.len(), 1000);
}

/// Issue 19, defect 7: the devices of one listing are capped (`max_devices`): a project with
/// more is refused as a whole (a partial list would make the devices after it look gone),
/// after reading no more than the page that went over.
#[tokio::test]
async fn a_listing_over_max_devices_is_refused() {
    let (_fake, api) = fake_and_client(1000).await;
    let e = api
        .project_devices(PROJECT, "ipmi", (100, 250), deadline())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("more than max_devices = 250"), "{e}");
    let all = api
        .project_devices(PROJECT, "ipmi", (100, 1000), deadline())
        .await
        .unwrap();
    assert_eq!(all.len(), 1000);
}
