//! A blocking client of one bucket (under a key prefix): the object calls a
//! registry needs, each signed as a presigned URL by `rusty-s3` and sent with
//! `ureq`. Throttling (503 `SlowDown`, 429) and server errors (500, 502,
//! 503, 504) and dropped connections are retried with exponential backoff;
//! every call's body is in memory, so a retry resends it whole.

use std::io::Read;
use std::time::{Duration, SystemTime};

use rusty_s3::{Credentials, S3Action, UrlStyle};
use serde::Deserialize;

use super::config::S3Config;
use crate::error::{Error, ErrorKind, Result};

/// How long a signed request (or a presigned redirect) stays valid.
const SIGNED_FOR: Duration = Duration::from_secs(3600);

/// How many times a request is tried when the service asks to retry.
const ATTEMPTS: u32 = 6;

/// A bucket and the credentials to reach it; objects are named relative to
/// its prefix. Cheap to share between threads (`ureq` pools connections).
pub struct Bucket {
    bucket: rusty_s3::Bucket,
    credentials: Option<Credentials>,
    prefix: String,
    agent: ureq::Agent,
    /// `s3://BUCKET/PREFIX`, for messages.
    pub description: String,
}

/// An object found by [`Bucket::list`].
#[derive(Debug, Clone)]
pub struct ObjectInfo {
    /// Its name relative to the listed prefix.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written.
    pub modified: Option<SystemTime>,
}

/// An S3 error body: `<Error><Code>…</Code><Message>…</Message></Error>`.
#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(rename = "Code", default)]
    code: String,
    #[serde(rename = "Message", default)]
    message: String,
}

enum Payload<'a> {
    Empty,
    Bytes(&'a [u8]),
}

fn retryable(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

impl Bucket {
    /// Connects to the bucket `config` names and checks that it is there
    /// and the credentials are accepted.
    ///
    /// Errors: `InvalidInput` for a bad URL or endpoint, `NotFound` when the
    /// bucket does not exist, `Unauthorized` when the credentials are
    /// refused, `Network` when the service cannot be reached.
    pub fn connect(config: &S3Config) -> Result<Bucket> {
        let bucket = Bucket::open(config)?;
        let url = bucket
            .bucket
            .head_bucket(bucket.credentials.as_ref())
            .sign(SIGNED_FOR);
        bucket
            .request("HEAD", &url, &[], Payload::Empty)?
            .ok_or_else(|| {
                Error::not_found(format!(
                    "the bucket of {} does not exist",
                    bucket.description
                ))
            })?;
        Ok(bucket)
    }

    /// The bucket `config` names, without checking it.
    pub fn open(config: &S3Config) -> Result<Bucket> {
        let resolved = config.resolve()?;
        let style = if resolved.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let description = format!("s3://{}/{}", resolved.bucket, resolved.prefix);
        let bucket = rusty_s3::Bucket::new(
            resolved.endpoint.clone(),
            style,
            resolved.bucket,
            resolved.region,
        )
        .map_err(|e| {
            Error::invalid(format!(
                "cannot address {description} at {}: {e}",
                resolved.endpoint
            ))
        })?;
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(120)))
            .build()
            .into();
        Ok(Bucket {
            bucket,
            credentials: resolved.credentials,
            prefix: resolved.prefix,
            agent,
            description,
        })
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// Sends one request, retrying as S3 asks; `None` for a 404 and for a
    /// 412 (a condition not met); every other failure is an error.
    fn request(
        &self,
        method: &str,
        url: &url::Url,
        headers: &[(&str, &str)],
        body: Payload<'_>,
    ) -> Result<Option<ureq::http::Response<ureq::Body>>> {
        let mut delay = Duration::from_millis(100);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt == ATTEMPTS;
            let outcome = self.send_once(method, url, headers, &body);
            match outcome {
                Ok(response) => {
                    let status = response.status().as_u16();
                    if status < 300 {
                        return Ok(Some(response));
                    }
                    if status == 404 && method != "HEAD" {
                        let error = self.error_of(response, method);
                        if error.message().contains("NoSuchBucket") {
                            return Err(error);
                        }
                        return Ok(None);
                    }
                    if status == 404 || status == 412 {
                        return Ok(None);
                    }
                    if !retryable(status) || last {
                        return Err(self.error_of(response, method));
                    }
                }
                Err(e) if last => {
                    return Err(Error::new(
                        ErrorKind::Network,
                        format!(
                            "the object store {} cannot be reached: {e}",
                            self.description
                        ),
                    ))
                }
                Err(_) => {}
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    fn send_once(
        &self,
        method: &str,
        url: &url::Url,
        headers: &[(&str, &str)],
        body: &Payload<'_>,
    ) -> std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        let url = url.as_str();
        macro_rules! with_headers {
            ($builder:expr) => {{
                let mut builder = $builder;
                for (name, value) in headers {
                    builder = builder.header(*name, *value);
                }
                builder
            }};
        }
        let bytes: &[u8] = match body {
            Payload::Empty => &[],
            Payload::Bytes(b) => b,
        };
        match method {
            "GET" => with_headers!(self.agent.get(url)).call(),
            "HEAD" => with_headers!(self.agent.head(url)).call(),
            "DELETE" => with_headers!(self.agent.delete(url)).call(),
            "POST" => with_headers!(self.agent.post(url)).send(bytes),
            _ => with_headers!(self.agent.put(url)).send(bytes),
        }
    }

    /// The error of a failed response, with the service's code and message.
    fn error_of(&self, mut response: ureq::http::Response<ureq::Body>, method: &str) -> Error {
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .unwrap_or_default();
        let body: ErrorBody = quick_xml::de::from_str(&text).unwrap_or_default();
        let detail = if body.code.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("{} ({}): {}", body.code, status, body.message)
        };
        let kind = match (status, body.code.as_str()) {
            (_, "NoSuchBucket") => ErrorKind::NotFound,
            (401 | 403, _) => ErrorKind::Unauthorized,
            (429, _) | (503, "SlowDown") => ErrorKind::RateLimited,
            (400..=499, _) => ErrorKind::InvalidInput,
            _ => ErrorKind::Network,
        };
        let what = match kind {
            ErrorKind::Unauthorized => "refused the credentials",
            ErrorKind::RateLimited => "is throttling requests",
            _ => "failed",
        };
        Error::new(
            kind,
            format!(
                "the object store {} {what} on a {method}: {detail}",
                self.description
            ),
        )
        .with_http_status(status)
    }

    fn creds(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// The size of object `name`, or `None` when there is none.
    pub fn head(&self, name: &str) -> Result<Option<u64>> {
        let key = self.key(name);
        let url = self.bucket.head_object(self.creds(), &key).sign(SIGNED_FOR);
        Ok(self.request("HEAD", &url, &[], Payload::Empty)?.map(|r| {
            r.headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        }))
    }

    /// The whole (small) object `name`, or `None`.
    pub fn get(&self, name: &str) -> Result<Option<Vec<u8>>> {
        let Some(mut response) = self.get_response(name, 0)? else {
            return Ok(None);
        };
        let bytes = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Network,
                    format!("reading {name} from {}: {e}", self.description),
                )
            })?;
        Ok(Some(bytes))
    }

    fn get_response(
        &self,
        name: &str,
        offset: u64,
    ) -> Result<Option<ureq::http::Response<ureq::Body>>> {
        let key = self.key(name);
        let url = self.bucket.get_object(self.creds(), &key).sign(SIGNED_FOR);
        let range = format!("bytes={offset}-");
        let headers: &[(&str, &str)] = if offset > 0 {
            &[("Range", range.as_str())]
        } else {
            &[]
        };
        self.request("GET", &url, headers, Payload::Empty)
    }

    /// A stream of object `name` from byte `offset` on, or `None`.
    pub fn reader(&self, name: &str, offset: u64) -> Result<Option<Box<dyn Read + Send>>> {
        Ok(self
            .get_response(name, offset)?
            .map(|r| Box::new(r.into_body().into_reader()) as Box<dyn Read + Send>))
    }

    /// A URL that fetches object `name` without credentials for an hour.
    pub fn presigned_get(&self, name: &str) -> url::Url {
        let key = self.key(name);
        self.bucket.get_object(self.creds(), &key).sign(SIGNED_FOR)
    }

    /// Writes object `name` whole. With `only_new`, only when it does not
    /// exist yet (`If-None-Match: *`, where the service honours it);
    /// whether it was written.
    pub fn put(&self, name: &str, bytes: &[u8], only_new: bool) -> Result<bool> {
        let key = self.key(name);
        let url = self.bucket.put_object(self.creds(), &key).sign(SIGNED_FOR);
        let headers: &[(&str, &str)] = if only_new {
            &[("If-None-Match", "*")]
        } else {
            &[]
        };
        Ok(self
            .request("PUT", &url, headers, Payload::Bytes(bytes))?
            .is_some())
    }

    /// Removes object `name` (nothing when it is absent).
    pub fn delete(&self, name: &str) -> Result<()> {
        let key = self.key(name);
        let url = self
            .bucket
            .delete_object(self.creds(), &key)
            .sign(SIGNED_FOR);
        self.request("DELETE", &url, &[], Payload::Empty)?;
        Ok(())
    }

    /// The objects below `prefix` (every one when `deep`, else those
    /// directly below it) and, when not `deep`, the names of the "folders"
    /// directly below it; both sorted, relative to `prefix`.
    pub fn list(&self, prefix: &str, deep: bool) -> Result<(Vec<ObjectInfo>, Vec<String>)> {
        let full = self.key(prefix);
        let mut objects = Vec::new();
        let mut folders = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut action = self.bucket.list_objects_v2(self.creds());
            action.with_prefix(full.as_str());
            if !deep {
                action.with_delimiter("/");
            }
            if let Some(token) = &token {
                action.with_continuation_token(token.as_str());
            }
            let url = action.sign(SIGNED_FOR);
            let Some(mut response) = self.request("GET", &url, &[], Payload::Empty)? else {
                return Err(Error::not_found(format!(
                    "the bucket of {} does not exist",
                    self.description
                )));
            };
            let text = response
                .body_mut()
                .with_config()
                .limit(64 << 20)
                .read_to_string()
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Network,
                        format!("listing {}: {e}", self.description),
                    )
                })?;
            let page = rusty_s3::actions::ListObjectsV2::parse_response(&text).map_err(|e| {
                Error::new(
                    ErrorKind::Network,
                    format!("the listing of {} is not S3's XML: {e}", self.description),
                )
            })?;
            for object in page.contents {
                let Some(name) = object.key.strip_prefix(&full) else {
                    continue;
                };
                objects.push(ObjectInfo {
                    name: name.to_owned(),
                    size: object.size.unwrap_or(0),
                    modified: object
                        .last_modified
                        .as_deref()
                        .and_then(|t| humantime::parse_rfc3339_weak(t).ok()),
                });
            }
            for common in page.common_prefixes {
                if let Some(name) = common.prefix.strip_prefix(&full) {
                    folders.push(name.trim_end_matches('/').to_owned());
                }
            }
            match page.next_continuation_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        objects.sort_by(|a, b| a.name.cmp(&b.name));
        folders.sort();
        Ok((objects, folders))
    }

    /// Starts a multipart upload of object `name`; its upload id.
    pub fn start_multipart(&self, name: &str) -> Result<String> {
        let key = self.key(name);
        let url = self
            .bucket
            .create_multipart_upload(self.creds(), &key)
            .sign(SIGNED_FOR);
        let mut response = self
            .request("POST", &url, &[], Payload::Empty)?
            .ok_or_else(|| {
                Error::not_found(format!("the bucket of {} is gone", self.description))
            })?;
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| Error::new(ErrorKind::Network, format!("starting an upload: {e}")))?;
        let parsed = rusty_s3::actions::CreateMultipartUpload::parse_response(&text)
            .map_err(|e| Error::new(ErrorKind::Network, format!("starting an upload: {e}")))?;
        Ok(parsed.upload_id().to_owned())
    }

    /// Uploads part `number` (from 1) of multipart upload `id`; its ETag.
    pub fn upload_part(&self, name: &str, id: &str, number: u16, bytes: &[u8]) -> Result<String> {
        let key = self.key(name);
        let url = self
            .bucket
            .upload_part(self.creds(), &key, number, id)
            .sign(SIGNED_FOR);
        let response = self
            .request("PUT", &url, &[], Payload::Bytes(bytes))?
            .ok_or_else(|| Error::not_found(format!("the upload of {name} is gone")))?;
        Ok(response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned())
    }

    /// Completes multipart upload `id` from the parts' ETags, in order.
    pub fn complete_multipart(&self, name: &str, id: &str, etags: &[String]) -> Result<()> {
        let key = self.key(name);
        let action = self.bucket.complete_multipart_upload(
            self.creds(),
            &key,
            id,
            etags.iter().map(String::as_str),
        );
        let url = action.sign(SIGNED_FOR);
        let body = action.body();
        self.request("POST", &url, &[], Payload::Bytes(body.as_bytes()))?
            .ok_or_else(|| Error::not_found(format!("the upload of {name} is gone")))?;
        Ok(())
    }

    /// Abandons multipart upload `id`.
    pub fn abort_multipart(&self, name: &str, id: &str) -> Result<()> {
        let key = self.key(name);
        let url = self
            .bucket
            .abort_multipart_upload(self.creds(), &key, id)
            .sign(SIGNED_FOR);
        self.request("DELETE", &url, &[], Payload::Empty)?;
        Ok(())
    }
}
