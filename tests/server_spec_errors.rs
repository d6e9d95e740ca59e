//! Our registry server answering raw HTTP: every error with the status and
//! code the distribution spec gives it.

mod common;

use common::http::request;
use common::our_server::Backend;
use common::*;
use stevedore::digest::Digest;
use stevedore::media_types;

on_every_store!(every_error_answers_the_spec_status_and_code);

fn every_error_answers_the_spec_status_and_code(backend: Backend) {
    let tmp = tempfile::tempdir().unwrap();
    let (_s3, server) = backend.serve(&tmp.path().join("store"));
    let host = server.host();
    let manifest = make_image(&tmp.path().join("src"), "1", b"errors\n");
    let missing = Digest::sha256(b"nothing");
    // A started upload, for the chunk cases.
    let started = request(&host, "POST", "/v2/app/blobs/uploads/", &[], b"");
    assert_eq!(started.status, 202);
    let location = started.header("location").unwrap().to_owned();
    assert_eq!(started.header("range"), Some("0-0"));
    let first = request(
        &host,
        "PATCH",
        &location,
        &[("Content-Range", "0-3")],
        b"abcd",
    );
    assert_eq!((first.status, first.header("range")), (202, Some("0-3")));
    let bad_manifest_type = [("Content-Type", media_types::OCI_MANIFEST)];
    // method, path, headers, body, expected status and code
    type Case<'a> = (
        &'a str,
        String,
        Vec<(&'a str, &'a str)>,
        Vec<u8>,
        u16,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "GET",
            "/v2/app/blobs/sha256:xyz".into(),
            vec![],
            vec![],
            400,
            "DIGEST_INVALID",
        ),
        (
            "GET",
            format!("/v2/app/blobs/{missing}"),
            vec![],
            vec![],
            404,
            "BLOB_UNKNOWN",
        ),
        (
            "HEAD",
            format!("/v2/app/blobs/{missing}"),
            vec![],
            vec![],
            404,
            "",
        ),
        (
            "GET",
            "/v2/app/manifests/nope".into(),
            vec![],
            vec![],
            404,
            "NAME_UNKNOWN",
        ),
        (
            "GET",
            format!("/v2/app/manifests/{missing}"),
            vec![],
            vec![],
            404,
            "MANIFEST_UNKNOWN",
        ),
        (
            "PUT",
            "/v2/app/manifests/1".into(),
            bad_manifest_type.to_vec(),
            b"{not json".to_vec(),
            400,
            "MANIFEST_INVALID",
        ),
        (
            "PUT",
            "/v2/app/manifests/1".into(),
            bad_manifest_type.to_vec(),
            manifest.raw().to_vec(),
            400,
            "MANIFEST_BLOB_UNKNOWN",
        ),
        (
            "PUT",
            format!("/v2/app/manifests/{missing}"),
            bad_manifest_type.to_vec(),
            manifest.raw().to_vec(),
            400,
            "DIGEST_INVALID",
        ),
        (
            "PUT",
            "/v2/app/manifests/1".into(),
            bad_manifest_type.to_vec(),
            vec![b' '; 5 << 20],
            413,
            "SIZE_INVALID",
        ),
        (
            "PATCH",
            location.clone(),
            vec![("Content-Range", "10-13")],
            b"wxyz".to_vec(),
            416,
            "BLOB_UPLOAD_INVALID",
        ),
        (
            "PUT",
            format!("{location}?digest={missing}"),
            vec![],
            vec![],
            400,
            "DIGEST_INVALID",
        ),
        (
            "PATCH",
            "/v2/app/blobs/uploads/0123456789abcdef".into(),
            vec![],
            b"x".to_vec(),
            404,
            "BLOB_UPLOAD_UNKNOWN",
        ),
        (
            "GET",
            "/v2/Bad/Name/tags/list".into(),
            vec![],
            vec![],
            400,
            "NAME_INVALID",
        ),
        (
            "GET",
            "/v2/a..b/manifests/1".into(),
            vec![],
            vec![],
            400,
            "NAME_INVALID",
        ),
        (
            "GET",
            "/v2/unknown/tags/list".into(),
            vec![],
            vec![],
            404,
            "NAME_UNKNOWN",
        ),
        (
            "POST",
            "/v2/app/manifests/1".into(),
            vec![],
            vec![],
            405,
            "UNSUPPORTED",
        ),
        (
            "DELETE",
            format!("/v2/app/blobs/{missing}"),
            vec![],
            vec![],
            404,
            "BLOB_UNKNOWN",
        ),
        (
            "GET",
            "/v2/app/referrers/sha256:zz".into(),
            vec![],
            vec![],
            400,
            "DIGEST_INVALID",
        ),
    ];
    for (method, path, headers, body, status, code) in cases {
        let answer = request(&host, method, &path, &headers, &body);
        assert_eq!(
            (answer.status, answer.code().as_str()),
            (status, code),
            "{method} {path}: {}",
            String::from_utf8_lossy(&answer.body)
        );
    }
    // After a failed commit the upload is gone.
    let after = request(&host, "GET", &location, &[], b"");
    assert_eq!(
        (after.status, after.code().as_str()),
        (404, "BLOB_UPLOAD_UNKNOWN")
    );
}
