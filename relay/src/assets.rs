//! The participant page, the wasm package and the examples, built into the binary: the release
//! `rollgym` is one file to deploy. `--www-dir` serves a directory in front of them, so a
//! researcher's own pages sit next to `/pkg/` (a file there wins over a built-in one).
//!
//! `build.rs` makes the binary rebuild when anything under `www/` changes (files added
//! included) and warns when the wasm package is missing there.

use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};

/// Everything under `www/` at build time (in debug builds too, so that the tests check what
/// a release serves).
#[derive(rust_embed::Embed)]
#[folder = "../www"]
struct Www;

/// Answers a GET for a built-in file: `/` and directories give their `index.html`; a
/// revalidation of an unchanged file gets 304.
pub(crate) async fn built_in(uri: Uri, request: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() || path.ends_with('/') {
        format!("{path}index.html")
    } else {
        path.to_owned()
    };
    let Some(file) = Www::get(&path) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let hash: String =
        file.metadata.sha256_hash()[..8].iter().map(|b| format!("{b:02x}")).collect();
    let etag = format!("\"{hash}\"");
    if request.get(header::IF_NONE_MATCH).is_some_and(|given| given.as_bytes() == etag.as_bytes()) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut response = Response::new(Body::from(file.data));
    let headers = response.headers_mut();
    if let Ok(kind) = HeaderValue::from_str(file.metadata.mimetype()) {
        headers.insert(header::CONTENT_TYPE, kind);
    }
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, etag);
    }
    response
}

/// Whether the built-in files include the wasm package (a relay built before the wasm step
/// would serve a page that cannot start).
pub fn has_package() -> bool {
    Www::iter().any(|name| name.starts_with("pkg/") && name.ends_with(".wasm"))
}
