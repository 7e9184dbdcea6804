//! The participant page and the wasm package are built into the binary: served without any
//! directory, behind a researcher's own `--www-dir`, and by the binary copied alone to a
//! directory outside the checkout.

mod support;

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Command, Stdio},
};

use support::TestRelay;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The package's wasm file, as `wasm-bindgen` names it.
const WASM: &str = "/pkg/rollgym_client_bg.wasm";

struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// A plain HTTP/1.1 GET with extra header lines.
async fn get(addr: SocketAddr, path: &str, extra: &str) -> Reply {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("a head");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
    Reply { status, head, body: response[split + 4..].to_vec() }
}

#[tokio::test]
async fn the_page_and_the_package_are_built_in_and_revalidate() {
    let relay = TestRelay::start().await;
    let page = get(relay.addr, "/", "").await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").is_some_and(|t| t.starts_with("text/html")));
    let wasm = get(relay.addr, WASM, "").await;
    assert_eq!(wasm.status, 200);
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert!(wasm.body.starts_with(b"\0asm"), "a wasm module");
    let etag = wasm.header("etag").expect("an etag").to_owned();
    let again = get(relay.addr, WASM, &format!("If-None-Match: {etag}\r\n")).await;
    assert_eq!(again.status, 304, "unchanged: not sent again");
    assert_eq!(get(relay.addr, "/no-such-file.js", "").await.status, 404);
    relay.shutdown().await;
}

#[tokio::test]
async fn a_researchers_directory_is_served_in_front_of_the_built_in_files() {
    let dir = std::env::temp_dir().join(format!("rollgym-www-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("index.html"), "<h1>my study</h1>").expect("write");
    let relay = TestRelay::start_serving(dir.clone()).await;
    let page = get(relay.addr, "/", "").await;
    assert_eq!((page.status, page.body.as_slice()), (200, b"<h1>my study</h1>".as_slice()));
    assert_eq!(get(relay.addr, WASM, "").await.status, 200, "the package next to it");
    relay.shutdown().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_binary_alone_outside_the_checkout_serves_the_page_and_the_package() {
    let dir = std::env::temp_dir().join(format!("rollgym-alone-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let binary = dir.join("rollgym");
    std::fs::copy(env!("CARGO_BIN_EXE_rollgym"), &binary).expect("copy the binary");
    let mut child = Command::new(&binary)
        .args(["serve", "--addr", "127.0.0.1:0", "--data-dir", "data"])
        .current_dir(&dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run the copied binary");
    let stdout = child.stdout.take().expect("stdout");
    let line = BufReader::new(stdout).lines().next().expect("a line").expect("utf-8");
    let addr: SocketAddr =
        line.rsplit("http://").next().and_then(|a| a.trim().parse().ok()).expect("its address");
    let page = get(addr, "/", "").await;
    let wasm = get(addr, WASM, "").await;
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("<script"), "the participant page");
    assert_eq!(wasm.status, 200);
    assert!(wasm.body.starts_with(b"\0asm"));
}
