//! `bootmem boot --html` in a real browser: headless Chromium through chromedriver (WebDriver), checked against the simulation's JSON.
//!
//! The test starts chromedriver itself on a free loopback port and drives
//! the page: it loads it, steps forward with the button and the arrow key,
//! back with the button and the arrow key, jumps with the slider, hovers a
//! block, and compares what the page shows (the call, its address, the
//! reasons) with `bootmem boot --json` for the same machine. It never skips:
//! without chromedriver or Chromium it fails and says to run
//! `scripts/test-browser`, which installs Debian's `chromium` and
//! `chromium-driver`. Set `BOOTMEM_SCREENSHOT=PATH` to keep a screenshot of
//! the step it photographs (the README's `docs/boot-page.png`).

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};

/// How long chromedriver may take to listen.
const DRIVER_START: Duration = Duration::from_secs(30);

/// A program on `PATH` (or named by `variable`), the first of `names` found.
fn program(variable: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|directory| names.iter().map(move |name| directory.join(name)))
        .find(|candidate| candidate.is_file())
}

/// chromedriver, killed when the test ends however it ends.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver() -> Driver {
    let driver = program("BOOTMEM_CHROMEDRIVER", &["chromedriver"]).unwrap_or_else(|| {
        panic!(
            "chromedriver is not installed (nor named by BOOTMEM_CHROMEDRIVER): \
             run scripts/test-browser, which installs Debian's chromium and chromium-driver"
        )
    });
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port();
    let child = Command::new(&driver)
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|error| panic!("{}: {error}", driver.display()));
    let driver = Driver { child, port };
    let deadline = Instant::now() + DRIVER_START;
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen on 127.0.0.1:{port} within {DRIVER_START:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    driver
}

async fn connect(driver: &Driver, profile: &Path) -> Client {
    let chromium = program(
        "BOOTMEM_CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    )
    .unwrap_or_else(|| {
        panic!(
            "Chromium is not installed (nor named by BOOTMEM_CHROMIUM): run scripts/test-browser"
        )
    });
    let arguments = [
        "--headless".to_string(),
        "--no-sandbox".to_string(),
        "--disable-gpu".to_string(),
        "--disable-background-networking".to_string(),
        "--disable-component-update".to_string(),
        "--disable-sync".to_string(),
        "--no-first-run".to_string(),
        "--window-size=1400,1000".to_string(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".to_string(),
        json!({ "binary": chromium, "args": arguments }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a WebDriver session with headless Chromium")
}

/// `bootmem boot --json --html PAGE [ARGUMENTS]`: the simulation's JSON.
fn simulate(page: &Path, arguments: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_bootmem"))
        .arg("boot")
        .arg("--json")
        .arg("--html")
        .arg(page)
        .args(arguments)
        .output()
        .expect("run bootmem");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("one JSON object")
}

async fn text(client: &Client, selector: &str) -> String {
    client
        .find(Locator::Css(selector))
        .await
        .unwrap_or_else(|error| panic!("{selector}: {error}"))
        .text()
        .await
        .expect("its text")
}

/// Checks that the page shows step `index` (from 0) of `steps`.
async fn assert_shows(client: &Client, steps: &[Value], index: usize) {
    let step = &steps[index];
    let context = format!("step {} ({})", index + 1, step["purpose"]);
    assert_eq!(
        text(client, "#step-0").await,
        format!("Call {} of {}", index + 1, steps.len()),
        "{context}"
    );
    assert_eq!(
        text(client, "#call-0").await,
        step["call"].as_str().unwrap(),
        "{context}"
    );
    let address = text(client, "#address-0").await;
    match step["start"].as_u64() {
        Some(start) => {
            let end = step["end"].as_u64().unwrap();
            assert!(
                address.starts_with(&format!("[{start:#x}, {end:#x})")),
                "{context}: {address}"
            );
            if let Some(node) = step["node"].as_u64() {
                assert!(
                    address.contains(&format!("on node {node}")),
                    "{context}: {address}"
                );
            }
        }
        None => assert!(
            address.contains(step["outcome"].as_str().unwrap()),
            "{context}: {address}"
        ),
    }
    let reasons: Vec<String> = futures_lines(client).await;
    let expected: Vec<&str> = step["explanation"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect();
    assert_eq!(reasons, expected, "{context}");
}

async fn futures_lines(client: &Client) -> Vec<String> {
    let mut lines = Vec::new();
    for item in client
        .find_all(Locator::Css("#explanation-0 li"))
        .await
        .expect("the reasons")
    {
        lines.push(item.text().await.expect("a reason"));
    }
    lines
}

async fn click(client: &Client, selector: &str) {
    client
        .find(Locator::Css(selector))
        .await
        .unwrap_or_else(|error| panic!("{selector}: {error}"))
        .click()
        .await
        .unwrap_or_else(|error| panic!("click {selector}: {error}"));
}

async fn press(client: &Client, key: Key) {
    client
        .find(Locator::Css("body"))
        .await
        .expect("the body")
        .send_keys(&char::from(key).to_string())
        .await
        .expect("a key press");
}

/// The same page with a second, shorter policy beside the first (as
/// `bootmem replay --html` shows two): both follow the slider, the shorter
/// one stays on its last call.
async fn two_policies_share_the_slider(client: &Client, page: &Path, directory: &Path) {
    const OPEN: &str = r#"<script id="data" type="application/json">"#;
    let html = std::fs::read_to_string(page).unwrap();
    let start = html.find(OPEN).expect("the page's data") + OPEN.len();
    let end = start + html[start..].find("</script>").unwrap();
    let mut data: Value = serde_json::from_str(&html[start..end]).unwrap();
    let mut second = data["policies"][0].clone();
    second["name"] = json!("second policy");
    second["steps"].as_array_mut().unwrap().truncate(10);
    data["policies"].as_array_mut().unwrap().push(second);
    let two = directory.join("two.html");
    let data = serde_json::to_string(&data).unwrap().replace("</", "<\\/");
    std::fs::write(&two, format!("{}{}{}", &html[..start], data, &html[end..])).unwrap();
    client
        .goto(&format!("file://{}", two.display()))
        .await
        .expect("the two-policy page loads");
    let names = text(client, "#policy-1 h2").await;
    assert_eq!(names, "second policy");
    client
        .execute(
            "const slider = document.getElementById('slider'); slider.value = 12; slider.dispatchEvent(new Event('input'));",
            vec![],
        )
        .await
        .expect("the slider moves");
    assert!(text(client, "#step-0").await.starts_with("Call 13 of "));
    assert_eq!(text(client, "#step-1").await, "Call 10 of 10");
    let hatched = client
        .execute(
            "return document.querySelectorAll('#hole-0, #hole-1').length;",
            vec![],
        )
        .await
        .expect("the patterns");
    assert_eq!(hatched, json!(2), "each picture has its own hole pattern");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_steps_through_the_boot_as_the_simulation_ran_it() {
    let directory = std::env::temp_dir().join(format!("bootmem-browser-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let page = directory.join("boot.html");
    let simulation = simulate(&page, &[]);
    let steps = simulation["steps"].as_array().expect("steps").clone();
    assert!(steps.len() > 20, "the default machine makes many calls");

    let driver = start_driver();
    let client = connect(&driver, &directory.join("profile")).await;
    let url = format!("file://{}", page.display());
    client.goto(&url).await.expect("the page loads");
    assert_eq!(
        text(&client, "#position").await,
        format!("call 1 / {}", steps.len())
    );
    assert_shows(&client, &steps, 0).await;

    // Forward through every call with the button, checking each against the JSON.
    for index in 1..steps.len() {
        click(&client, "#next").await;
        assert_shows(&client, &steps, index).await;
    }
    // Past the end stays at the end.
    click(&client, "#next").await;
    assert_shows(&client, &steps, steps.len() - 1).await;
    // Back with the button and the arrow key, forward with the arrow key.
    click(&client, "#previous").await;
    assert_shows(&client, &steps, steps.len() - 2).await;
    press(&client, Key::Left).await;
    assert_shows(&client, &steps, steps.len() - 3).await;
    press(&client, Key::Right).await;
    assert_shows(&client, &steps, steps.len() - 2).await;
    click(&client, "#first").await;
    assert_shows(&client, &steps, 0).await;

    // The slider jumps to a call whose placement the search hint or a fallback explains.
    let interesting = steps
        .iter()
        .position(|step| {
            step["explanation"].as_array().unwrap().iter().any(|line| {
                let line = line.as_str().unwrap();
                line.contains("hint moved it")
                    || line.contains("fell back")
                    || line.contains("goal was dropped")
            })
        })
        .or_else(|| steps.iter().position(|step| step["outcome"] == "allocated"))
        .expect("an allocation");
    client
        .execute(
            "const slider = document.getElementById('slider'); slider.value = arguments[0]; slider.dispatchEvent(new Event('input'));",
            vec![json!(interesting)],
        )
        .await
        .expect("the slider moves");
    assert_shows(&client, &steps, interesting).await;

    // Only the calls made so far are drawn; the current one is outlined.
    let drawn = client
        .execute(
            "return [document.querySelectorAll('#picture-0 rect.block:not(.later)').length, document.querySelectorAll('#picture-0 rect.block.current').length];",
            vec![],
        )
        .await
        .expect("the picture");
    let placed_so_far = steps[..=interesting]
        .iter()
        .filter(|step| step["start"].is_u64() && step["end"].as_u64() > step["start"].as_u64())
        .count();
    assert_eq!(
        drawn,
        json!([placed_so_far * 2, 2]),
        "detail and overview blocks"
    );

    // Hovering the current block names its range, size, owner and call.
    let tooltip = client
        .execute(
            "const block = document.querySelector('#picture-0 rect.block.current'); const box = block.getBoundingClientRect(); block.dispatchEvent(new MouseEvent('mousemove', {clientX: box.x + 2, clientY: box.y + 1, bubbles: true})); return document.getElementById('tooltip').textContent;",
            vec![],
        )
        .await
        .expect("a tooltip");
    let tooltip = tooltip.as_str().unwrap_or_default().to_string();
    let step = &steps[interesting];
    assert!(
        tooltip.contains(step["purpose"].as_str().unwrap()),
        "{tooltip}"
    );
    assert!(
        tooltip.contains(step["call"].as_str().unwrap()),
        "{tooltip}"
    );
    assert!(
        tooltip.contains(&format!("{:#x}", step["start"].as_u64().unwrap())),
        "{tooltip}"
    );

    // The limit lines are drawn.
    let limits = text(&client, "#picture-0").await;
    assert!(
        limits.contains("4 GiB (DMA32)") && limits.contains("16 MiB (DMA goal)"),
        "{limits}"
    );

    let screenshot = client.screenshot().await.expect("a screenshot");
    assert!(screenshot.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(
        screenshot.len() > 20_000,
        "a screenshot with something on it"
    );
    if let Some(path) = std::env::var_os("BOOTMEM_SCREENSHOT") {
        std::fs::write(&path, &screenshot).expect("the screenshot is written");
    }
    two_policies_share_the_slider(&client, &page, &directory).await;
    client.close().await.expect("the session ends");
    drop(driver);
    std::fs::remove_dir_all(&directory).unwrap();
}
