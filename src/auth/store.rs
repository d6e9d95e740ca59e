//! Writing logins to an auth file, as `skopeo login` and `podman login` do:
//! `{"auths": {"REGISTRY": {"auth": base64("USER:PASSWORD")}}}`, every other
//! key and entry of the file kept as it was, the file replaced whole (mode
//! 0600, its directory made 0700 when missing).

use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::{Map, Value};

use super::files::primary_auth_file;
use super::Credentials;
use crate::error::{Error, ErrorKind, Result};

/// Records `credentials` (user name and password) for `registry` (`host[:port]`,
/// or a `host/namespace` key) in the auth file: `auth_file`, or the primary
/// one of containers-auth.json(5) ([`primary_auth_file`]). Returns the file
/// written. Errors: `InvalidInput` for credentials other than a user name and
/// password or for a file that is not an auth file; `Io` when it cannot be
/// written.
pub fn write_login(
    auth_file: Option<&Path>,
    registry: &str,
    credentials: &Credentials,
) -> Result<PathBuf> {
    let Credentials::Basic { username, password } = credentials else {
        return Err(Error::invalid("a login needs a user name and a password"));
    };
    let path = primary_auth_file(auth_file);
    let mut file = read(&path)?;
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("{username}:{}", password.expose()));
    let mut entry = Map::new();
    entry.insert("auth".into(), Value::String(auth));
    auths(&mut file, &path)?.insert(registry.to_owned(), Value::Object(entry));
    write(&path, &file)?;
    Ok(path)
}

/// Removes the login for `registry` from the auth file (`auth_file`, or the
/// primary one). Returns the file written. Errors: `NotFound` when the file
/// holds no login for `registry`; `Io` when it cannot be written.
pub fn remove_login(auth_file: Option<&Path>, registry: &str) -> Result<PathBuf> {
    let path = primary_auth_file(auth_file);
    let mut file = read(&path)?;
    let removed = auths(&mut file, &path)?.shift_remove(registry).is_some();
    if !removed {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!("not logged in to {registry} (in {})", path.display()),
        ));
    }
    write(&path, &file)?;
    Ok(path)
}

/// The file's JSON object, or an empty one when there is no file yet.
fn read(path: &Path) -> Result<Map<String, Value>> {
    match std::fs::read(path) {
        Ok(text) if text.iter().all(u8::is_ascii_whitespace) => Ok(Map::new()),
        Ok(text) => serde_json::from_slice(&text).map_err(|e| {
            Error::invalid(format!("{} is not a valid auth file: {e}", path.display()))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Map::new()),
        Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
    }
}

/// The `auths` object of the file, made when missing.
fn auths<'a>(file: &'a mut Map<String, Value>, path: &Path) -> Result<&'a mut Map<String, Value>> {
    file.entry("auths")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| {
            Error::invalid(format!(
                "{}: \"auths\" is not an object; not an auth file",
                path.display()
            ))
        })
}

/// Replaces the file whole: a temporary file (mode 0600) beside it, renamed.
fn write(path: &Path, file: &Map<String, Value>) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let failed = |e: std::io::Error| Error::io(format!("writing {}", path.display()), e);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(failed)?;
    let mut text = serde_json::to_vec_pretty(file)
        .map_err(|e| Error::invalid(format!("encoding {}: {e}", path.display())))?;
    text.push(b'\n');
    let mut temp = tempfile::Builder::new()
        .prefix(".auth.json-")
        .tempfile_in(dir)
        .map_err(failed)?;
    temp.write_all(&text).map_err(failed)?;
    temp.as_file().sync_all().map_err(failed)?;
    temp.persist(path).map_err(|e| failed(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{CredentialSource, Secret};

    #[test]
    fn a_login_is_found_and_keeps_the_rest_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub/auth.json");
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(
            &file,
            r#"{"auths": {"other.example": {"auth": "b3RoZXI6cHc="}}, "credHelpers": {}}"#,
        )
        .unwrap();
        let creds = Credentials::Basic {
            username: "alice".into(),
            password: Secret::new("s3cret"),
        };
        assert_eq!(
            write_login(Some(&file), "r.example:5000", &creds).unwrap(),
            file
        );
        let source = CredentialSource {
            auth_file: Some(file.clone()),
            ..CredentialSource::default()
        };
        assert_eq!(source.lookup("r.example:5000", "a/b").unwrap(), creds);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("other.example") && text.contains("credHelpers"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        remove_login(Some(&file), "r.example:5000").unwrap();
        assert_eq!(
            source.lookup("r.example:5000", "a/b").unwrap(),
            Credentials::Anonymous
        );
        let err = remove_login(Some(&file), "r.example:5000").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
    }
}
