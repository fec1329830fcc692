//! The server's configuration: one typed tree, loaded once.
//!
//! Sources, later ones winning: built-in defaults, an optional TOML file
//! (`--config`), environment variables `JISHI_*`, command-line flags. Nothing
//! else in the server reads the environment. Secrets never print.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A secret string: `Debug` shows `[redacted]`.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub listen: SocketAddr,
    /// Holds `jishi.db` (SQLite), `blobs/` and the generated signing key.
    pub data_dir: PathBuf,
    /// `postgres://…` switches to PostgreSQL; `sqlite://…` names a file;
    /// unset means `data_dir/jishi.db`.
    pub database_url: Option<Secret>,
    /// HMAC key for access tokens; generated into `data_dir/jwt.key` when
    /// unset. Several instances must share one.
    pub jwt_secret: Option<Secret>,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    /// A rotated refresh token may be presented again this long (a reply
    /// lost on a bad network) without revoking its family.
    pub refresh_grace_secs: u64,
    pub log_json: bool,
    pub max_sync_body_bytes: usize,
    pub request_timeout_secs: u64,
    /// Logins allowed per account and per client address, per minute.
    pub login_per_minute: u32,
    /// A photo no document references is removed after this long.
    pub blob_grace_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("jishi-data"),
            database_url: None,
            jwt_secret: None,
            access_ttl_secs: 15 * 60,
            refresh_ttl_secs: 60 * 24 * 3600,
            refresh_grace_secs: 60,
            log_json: false,
            max_sync_body_bytes: 32 * 1024 * 1024,
            request_timeout_secs: 60,
            login_per_minute: 10,
            blob_grace_secs: 7 * 24 * 3600,
        }
    }
}

/// The config file: every field optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<Secret>,
    pub jwt_secret: Option<Secret>,
    pub access_ttl_secs: Option<u64>,
    pub refresh_ttl_secs: Option<u64>,
    pub refresh_grace_secs: Option<u64>,
    pub log_json: Option<bool>,
    pub max_sync_body_bytes: Option<usize>,
    pub request_timeout_secs: Option<u64>,
    pub login_per_minute: Option<u32>,
    pub blob_grace_secs: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("config file {path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("{name}={value:?} is not valid: {reason}")]
    Env {
        name: String,
        value: String,
        reason: String,
    },
}

impl Config {
    /// Defaults, then the file, then the environment (`env` is passed in so
    /// tests do not touch the process environment).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut c = Config::default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            let f: FileConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            c.apply_file(f);
        }
        for (name, value) in env {
            c.apply_env(&name, &value)?;
        }
        Ok(c)
    }

    fn apply_file(&mut self, f: FileConfig) {
        macro_rules! take {
            ($($field:ident),*) => { $( if let Some(v) = f.$field { self.$field = v; } )* };
        }
        take!(
            listen,
            data_dir,
            access_ttl_secs,
            refresh_ttl_secs,
            refresh_grace_secs,
            log_json,
            max_sync_body_bytes,
            request_timeout_secs,
            login_per_minute
        );
        if f.database_url.is_some() {
            self.database_url = f.database_url;
        }
        if f.jwt_secret.is_some() {
            self.jwt_secret = f.jwt_secret;
        }
    }

    fn apply_env(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        fn parse<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, ConfigError>
        where
            T::Err: std::fmt::Display,
        {
            value.parse().map_err(|e: T::Err| ConfigError::Env {
                name: name.to_owned(),
                value: value.to_owned(),
                reason: e.to_string(),
            })
        }
        match name {
            "JISHI_LISTEN" => self.listen = parse(name, value)?,
            "JISHI_DATA_DIR" => self.data_dir = PathBuf::from(value),
            "JISHI_DATABASE_URL" => self.database_url = Some(Secret::new(value)),
            "JISHI_JWT_SECRET" => self.jwt_secret = Some(Secret::new(value)),
            "JISHI_ACCESS_TTL_SECS" => self.access_ttl_secs = parse(name, value)?,
            "JISHI_REFRESH_TTL_SECS" => self.refresh_ttl_secs = parse(name, value)?,
            "JISHI_REFRESH_GRACE_SECS" => self.refresh_grace_secs = parse(name, value)?,
            "JISHI_LOG_JSON" => self.log_json = parse(name, value)?,
            "JISHI_MAX_SYNC_BODY_BYTES" => self.max_sync_body_bytes = parse(name, value)?,
            "JISHI_REQUEST_TIMEOUT_SECS" => self.request_timeout_secs = parse(name, value)?,
            "JISHI_LOGIN_PER_MINUTE" => self.login_per_minute = parse(name, value)?,
            "JISHI_BLOB_GRACE_SECS" => self.blob_grace_secs = parse(name, value)?,
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order_and_secrets_do_not_print() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jishi.toml");
        std::fs::write(
            &file,
            "listen = \"0.0.0.0:9000\"\njwt_secret = \"s3cret\"\naccess_ttl_secs = 60\n",
        )
        .unwrap();
        let env = [("JISHI_ACCESS_TTL_SECS".to_owned(), "120".to_owned())];
        let c = Config::load(Some(&file), env).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.access_ttl_secs, 120);
        assert_eq!(c.jwt_secret.as_ref().unwrap().expose(), "s3cret");
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let env = [("JISHI_LISTEN".to_owned(), "nowhere".to_owned())];
        let err = Config::load(None, env).unwrap_err().to_string();
        assert!(err.contains("JISHI_LISTEN"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "lisen = 1").unwrap();
        assert!(Config::load(Some(&file), []).is_err());
    }
}
