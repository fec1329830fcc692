//! The server's configuration: one typed tree, loaded once.
//!
//! Sources, later ones winning: built-in defaults, an optional TOML file
//! (`--config`), environment variables `JISHI_*`, command-line flags. Nothing
//! else in the server reads the environment. Secrets never print.
//!
//! A setting is written in one place, a field of [`Config`] (with its
//! default in `Default`): the file's keys are the field names, and the
//! variable of a field is `JISHI_` and its name in capitals. The layers are
//! merged by `figment`; the variables' values are read as text and
//! converted to the field's type (a list is comma-separated).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use figment::providers::{Format, Serialized, Toml};
use figment::Figment;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
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

/// `JISHI_*` variables that are not the server's settings: the `jishi`
/// command's own (`JISHI_LOG`, the log filter; `JISHI_NEW_PASSWORD`, for
/// `admin` commands), and the tests' and tools' (a `*` ends a prefix).
pub const NOT_SETTINGS: &[&str] = &[
    "JISHI_LOG",
    "JISHI_NEW_PASSWORD",
    "JISHI_TEST_*",
    "JISHI_BENCH_*",
    "JISHI_SIM_*",
    "JISHI_PHONE_*",
    "JISHI_KILLS",
    "JISHI_PREBUILT",
    "JISHI_BLESS",
    "JISHI_WRITE_SEEDS",
    "JISHI_LOAD_PASSWORD",
];

/// Shortest `metrics_token`.
pub const MIN_METRICS_TOKEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
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
    /// A client must send a request's whole header within this long after
    /// connecting (slow clients holding connections open are closed).
    pub header_timeout_secs: u64,
    /// Sync request bodies held in memory at once, in bytes, whoever sends
    /// them: more waits (and times out) instead of growing the server.
    pub max_sync_inflight_bytes: usize,
    /// Sync requests worked on at once, all clients together; more are
    /// answered 503 with `Retry-After` at once instead of queueing (which
    /// made every request of a burst wait seconds). Default: 10 per core.
    pub max_sync_requests: usize,
    /// Login attempts allowed per minute per account and client address
    /// (then 429); ten times as many per address (then 429) and per
    /// account from any address (then each waits, none is refused).
    pub login_per_minute: u32,
    /// Proxies (addresses or networks) whose `X-Forwarded-For` names the
    /// client; anyone else's is ignored. Empty: the peer is the client.
    #[serde(deserialize_with = "list")]
    pub trusted_proxies: Vec<crate::client_addr::ProxyRange>,
    /// Event streams (`/api/v1/events`, `/web/events`) one user may hold
    /// open at once, on all instances together.
    pub max_event_streams_per_user: u32,
    /// The same per device (a phone, or one browser's web session).
    pub max_event_streams_per_device: u32,
    /// A photo no document references is removed after this long; so is a
    /// half-finished upload nobody continued.
    pub blob_grace_secs: u64,
    /// Photos go to this S3-compatible bucket instead of `data_dir/blobs`
    /// (needed for several instances).
    pub s3_bucket: Option<String>,
    pub s3_prefix: String,
    /// For a non-AWS service (MinIO, Ceph, Alibaba OSS…), e.g.
    /// `https://oss-cn-hangzhou.aliyuncs.com`.
    pub s3_endpoint: Option<String>,
    pub s3_region: String,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<Secret>,
    /// Retired: holidays are kept in the county calendar (`jishi admin
    /// calendar`, the web page 工作日历). A server given this setting
    /// refuses to start and says how to move the days, rather than count
    /// working days without them.
    #[serde(rename = "holidays", deserialize_with = "list")]
    #[doc(hidden)]
    pub retired_holidays: Vec<String>,
    /// Make last week's publications on Monday by itself (a server that
    /// only `publish-week` drives, or a test, turns it off).
    pub auto_publish: bool,
    /// The hour (UTC+8) on Monday when last week's publications are made.
    pub publish_hour: u32,
    /// A month's reviews are due by the end of this day of the next month.
    pub review_deadline_day: u32,
    /// An item (督办, 问题清单) overdue this many days is shown to the
    /// level above as escalated.
    pub item_escalate_days: u32,
    /// Zero bits the public case form's proof of work asks (about 2^bits
    /// hashes in the filer's browser; 16 is a second on a cheap phone).
    pub case_pow_bits: u32,
    /// Cases one address may file per hour through the public form.
    pub case_filings_per_address_hour: u32,
    /// Cases one phone number may file per day through the public form.
    pub case_filings_per_phone_day: u32,
    /// Tracking-code lookups one address may make per minute.
    pub case_lookups_per_address_minute: u32,
    /// The web pages are served over HTTPS (through a proxy): the session
    /// cookie is marked `Secure`.
    pub web_secure_cookie: bool,
    /// `GET /metrics` answers only with this bearer token (at least 16
    /// characters); unset, `/metrics` is off (404).
    pub metrics_token: Option<Secret>,
    /// Where the public reaches the server, e.g.
    /// `https://jishi.example.gov.cn`: the QR code printed on a notice
    /// leads there. Unset: the address the page was asked at.
    pub public_url: Option<String>,
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
            header_timeout_secs: 10,
            max_sync_inflight_bytes: 64 * 1024 * 1024,
            max_sync_requests: 10 * std::thread::available_parallelism().map_or(2, |n| n.get()),
            login_per_minute: 10,
            trusted_proxies: Vec::new(),
            max_event_streams_per_user: 10,
            max_event_streams_per_device: 6,
            blob_grace_secs: 7 * 24 * 3600,
            s3_bucket: None,
            s3_prefix: String::new(),
            s3_endpoint: None,
            s3_region: "us-east-1".into(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            retired_holidays: Vec::new(),
            auto_publish: true,
            publish_hour: 8,
            web_secure_cookie: false,
            review_deadline_day: 5,
            item_escalate_days: 3,
            case_pow_bits: 16,
            case_filings_per_address_hour: 5,
            case_filings_per_phone_day: 3,
            case_lookups_per_address_minute: 30,
            metrics_token: None,
            public_url: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("config file {path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("the S3 blob store needs {missing} (JISHI_{env}) when s3_bucket is set")]
    S3Incomplete {
        missing: &'static str,
        env: &'static str,
    },
    #[error("metrics_token (JISHI_METRICS_TOKEN) must be at least {MIN_METRICS_TOKEN} characters; make one with `openssl rand -hex 24`")]
    MetricsToken,
    #[error("public_url (JISHI_PUBLIC_URL) must be an http:// or https:// address without a path, e.g. https://jishi.example.gov.cn, not {0:?}")]
    PublicUrl(String),
    #[error(
        "holidays (JISHI_HOLIDAYS) is no longer a setting: the county calendar keeps the \
         holidays and make-up working days now. Remove the setting, then enter these days \
         ({0}) with `jishi admin calendar set --from 2026-10-01 --to 2026-10-08 --kind \
         holiday --name 国庆节` (or on the web page 工作日历)"
    )]
    HolidaysMoved(String),
    #[error("{name}={value:?} is not valid: {reason}")]
    Env {
        name: String,
        value: String,
        reason: String,
    },
}

impl Config {
    /// Defaults, then the file, then the environment (`env` is passed in so
    /// tests do not touch the process environment; variables that are not
    /// settings are left out, see [`Config::unknown_variables`]).
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut layers = Figment::new();
        let file_name = file.map(|p| p.display().to_string());
        if let (Some(path), Some(name)) = (file, &file_name) {
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
                path: name.clone(),
                reason: e.to_string(),
            })?;
            layers = layers.merge(Toml::string(&text));
        }
        let variables: BTreeMap<&'static str, String> = env
            .into_iter()
            .filter_map(|(name, value)| Some((setting_named(&name)?, value)))
            .collect();
        layers = layers.merge(Serialized::defaults(&variables));
        let c: Config = layers
            .extract_lossy()
            .map_err(|e| ConfigError::from_figment(e, file_name.as_deref(), &variables))?;
        if !c.retired_holidays.is_empty() {
            return Err(ConfigError::HolidaysMoved(c.retired_holidays.join(", ")));
        }
        if c.metrics_token
            .as_ref()
            .is_some_and(|t| t.expose().chars().count() < MIN_METRICS_TOKEN)
        {
            return Err(ConfigError::MetricsToken);
        }
        if let Some(url) = &c.public_url {
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"))
                .map(|r| r.trim_end_matches('/'));
            let ok = rest.is_some_and(|r| {
                !r.is_empty()
                    && r.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
            });
            if !ok {
                return Err(ConfigError::PublicUrl(url.clone()));
            }
        }
        Ok(c)
    }

    /// The names of the settings (the fields of [`Config`]).
    pub fn settings() -> &'static [&'static str] {
        serde_aux::serde_introspection::serde_introspect::<Config>()
    }

    /// The `JISHI_*` variables among `env` that are not settings of this
    /// server (a typo, or a setting of another version): reported at start,
    /// never applied. The command's own variables and those of the tests
    /// and tools ([`NOT_SETTINGS`]) are left out.
    pub fn unknown_variables(env: impl IntoIterator<Item = (String, String)>) -> Vec<String> {
        env.into_iter()
            .map(|(name, _)| name)
            .filter(|name| {
                name.starts_with("JISHI_")
                    && !NOT_SETTINGS.iter().any(|n| match n.strip_suffix('*') {
                        Some(prefix) => name.starts_with(prefix),
                        None => name == n,
                    })
                    && setting_named(name).is_none()
            })
            .collect()
    }
}

/// The setting a `JISHI_*` variable names: `JISHI_ACCESS_TTL_SECS` is
/// `access_ttl_secs`.
fn setting_named(variable: &str) -> Option<&'static str> {
    let key = variable.strip_prefix("JISHI_")?;
    Config::settings()
        .iter()
        .find(|s| s.eq_ignore_ascii_case(key) && key.bytes().all(|b| !b.is_ascii_lowercase()))
        .copied()
}

/// Settings whose values never appear in an error.
const SECRETS: &[&str] = &[
    "database_url",
    "jwt_secret",
    "s3_secret_access_key",
    "metrics_token",
];

impl ConfigError {
    fn from_figment(
        e: figment::Error,
        file: Option<&str>,
        variables: &BTreeMap<&'static str, String>,
    ) -> Self {
        let setting = e.path.first().map(String::as_str).unwrap_or_default();
        match variables.get_key_value(setting) {
            Some((setting, value)) => ConfigError::Env {
                name: format!("JISHI_{}", setting.to_ascii_uppercase()),
                value: if SECRETS.contains(setting) {
                    "[redacted]".to_owned()
                } else {
                    value.clone()
                },
                reason: e.kind.to_string(),
            },
            None => ConfigError::Parse {
                path: file.unwrap_or("the configuration").to_owned(),
                reason: match setting {
                    "" => e.kind.to_string(),
                    key => format!("{key}: {}", e.kind),
                },
            },
        }
    }
}

/// A list setting: an array in the file, comma-separated text in a
/// variable (`JISHI_HOLIDAYS=2026-10-01,2026-10-02`).
fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + FromStr,
    T::Err: fmt::Display,
{
    struct List<T>(PhantomData<T>);
    impl<'de, T> Visitor<'de> for List<T>
    where
        T: Deserialize<'de> + FromStr,
        T::Err: fmt::Display,
    {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list, or comma-separated text")
        }
        fn visit_str<E: de::Error>(self, text: &str) -> Result<Vec<T>, E> {
            text.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(|item| item.parse().map_err(|e| E::custom(format!("{item}: {e}"))))
                .collect()
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element()? {
                out.push(item);
            }
            Ok(out)
        }
    }
    d.deserialize_any(List(PhantomData))
}

impl Config {
    /// The S3 settings when a bucket is configured; an error names what is
    /// missing.
    pub fn s3(&self) -> Result<Option<crate::photos::store::S3Settings>, ConfigError> {
        let Some(bucket) = &self.s3_bucket else {
            return Ok(None);
        };
        let access_key_id = self
            .s3_access_key_id
            .clone()
            .ok_or(ConfigError::S3Incomplete {
                missing: "s3_access_key_id",
                env: "S3_ACCESS_KEY_ID",
            })?;
        let secret_access_key =
            self.s3_secret_access_key
                .clone()
                .ok_or(ConfigError::S3Incomplete {
                    missing: "s3_secret_access_key",
                    env: "S3_SECRET_ACCESS_KEY",
                })?;
        Ok(Some(crate::photos::store::S3Settings {
            bucket: bucket.clone(),
            prefix: self.s3_prefix.clone(),
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
            access_key_id,
            secret_access_key,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_that_are_not_settings_are_named() {
        let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let unknown = Config::unknown_variables(env(&[
            ("JISHI_LISTEN", "127.0.0.1:1"),
            ("JISHI_MAX_SYNC_REQUEST", "4"),
            ("JISHI_LOGIN_PER_MINUTE", "not a number"),
            ("JISHI_TEST_POSTGRES_URL", "postgres://x"),
            ("JISHI_NEW_PASSWORD", "x"),
            ("JISHI_LOG", "debug"),
            ("JISHI_PREBUILT", "1"),
            ("HOME", "/root"),
        ]));
        // A typo is named; a known one with a bad value is not unknown (its
        // error comes from `load`); the command's and the tests' own are
        // left out.
        assert_eq!(unknown, ["JISHI_MAX_SYNC_REQUEST"]);
    }

    #[test]
    fn every_setting_has_its_variable_and_a_line_in_the_readme() {
        let readme = include_str!("../../README.md");
        let settings = Config::settings();
        assert!(settings.len() >= 30, "{settings:?}");
        for s in settings {
            let variable = format!("JISHI_{}", s.to_ascii_uppercase());
            assert_eq!(setting_named(&variable), Some(*s));
            assert!(
                readme.contains(&variable),
                "README.md does not name {variable}"
            );
        }
        assert_eq!(setting_named("JISHI_listen"), None);
        assert_eq!(setting_named("LISTEN"), None);
    }

    #[test]
    fn variables_are_read_as_text_and_converted_to_the_settings_type() {
        let env = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        // A secret of digits stays text; numbers and booleans convert; lists
        // are comma-separated.
        let c = Config::load(
            None,
            env(&[
                ("JISHI_JWT_SECRET", "12345678901234567890"),
                ("JISHI_S3_ACCESS_KEY_ID", "0042"),
                ("JISHI_AUTO_PUBLISH", "false"),
                ("JISHI_PUBLISH_HOUR", "9"),
                ("JISHI_DATA_DIR", "/srv/jishi"),
            ]),
        )
        .unwrap();
        assert_eq!(c.jwt_secret.unwrap().expose(), "12345678901234567890");
        assert_eq!(c.s3_access_key_id.as_deref(), Some("0042"));
        assert!(!c.auto_publish);
        assert_eq!(c.publish_hour, 9);
        assert_eq!(c.data_dir, PathBuf::from("/srv/jishi"));
        // A bad value names its variable and the reason.
        let err = Config::load(None, env(&[("JISHI_PUBLISH_HOUR", "nine")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("JISHI_PUBLISH_HOUR") && err.contains("nine"),
            "{err}"
        );
        // The retired holidays setting is refused with the way to move
        // its days into the calendar.
        let err = Config::load(None, env(&[("JISHI_HOLIDAYS", "2026-10-01, 2026-10-02,")]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("JISHI_HOLIDAYS")
                && err.contains("2026-10-01, 2026-10-02")
                && err.contains("jishi admin calendar set"),
            "{err}"
        );
        // The file's lists are arrays; a wrong type names the key.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jishi.toml");
        std::fs::write(&file, "holidays = [\"2026-05-01\"]\n").unwrap();
        let err = Config::load(Some(&file), []).unwrap_err().to_string();
        assert!(
            err.contains("2026-05-01") && err.contains("calendar"),
            "{err}"
        );
        std::fs::write(&file, "publish_hour = \"soon\"\n").unwrap();
        let err = Config::load(Some(&file), []).unwrap_err().to_string();
        assert!(
            err.contains("publish_hour") && err.contains("jishi.toml"),
            "{err}"
        );
        std::fs::write(&file, "lisen = 1\n").unwrap();
        let err = Config::load(Some(&file), []).unwrap_err().to_string();
        assert!(err.contains("lisen"), "{err}");
    }

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

    #[test]
    fn every_file_field_is_applied_and_s3_needs_its_keys() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jishi.toml");
        std::fs::write(
            &file,
            "blob_grace_secs = 5\ns3_bucket = \"photos\"\ns3_endpoint = \"http://127.0.0.1:9000\"\ns3_access_key_id = \"k\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&file), []).unwrap();
        assert_eq!(c.blob_grace_secs, 5);
        let err = c.s3().unwrap_err().to_string();
        assert!(err.contains("JISHI_S3_SECRET_ACCESS_KEY"), "{err}");
        let env = [(
            "JISHI_S3_SECRET_ACCESS_KEY".to_owned(),
            "very-secret".to_owned(),
        )];
        let c = Config::load(Some(&file), env).unwrap();
        let s3 = c.s3().unwrap().unwrap();
        assert_eq!(s3.bucket, "photos");
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(!format!("{c:?}").contains("very-secret"));
        assert_eq!(Config::default().s3().unwrap(), None);
    }

    #[test]
    fn the_public_url_is_an_origin() {
        let env = |v: &str| [("JISHI_PUBLIC_URL".to_owned(), v.to_owned())];
        let c = Config::load(None, env("https://jishi.example.gov.cn/")).unwrap();
        assert_eq!(
            c.public_url.as_deref(),
            Some("https://jishi.example.gov.cn/")
        );
        for bad in [
            "jishi.example.gov.cn",
            "ftp://x",
            "https://x/p/t1",
            "https://",
        ] {
            let err = Config::load(None, env(bad)).unwrap_err().to_string();
            assert!(err.contains("JISHI_PUBLIC_URL"), "{bad}: {err}");
        }
    }

    #[test]
    fn metrics_are_off_unless_a_long_token_is_set_and_it_never_prints() {
        assert_eq!(Config::default().metrics_token, None);
        let env = |v: &str| [("JISHI_METRICS_TOKEN".to_owned(), v.to_owned())];
        let c = Config::load(None, env("metrics-token-0123456789")).unwrap();
        assert_eq!(
            c.metrics_token.as_ref().map(Secret::expose),
            Some("metrics-token-0123456789")
        );
        assert!(!format!("{c:?}").contains("metrics-token-0123456789"));
        let err = Config::load(None, env("short")).unwrap_err().to_string();
        assert!(
            err.contains("JISHI_METRICS_TOKEN") && !err.contains("short"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jishi.toml");
        std::fs::write(
            &file,
            "metrics_token = \"from-the-file-0123456789\"\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\n",
        )
        .unwrap();
        let c = Config::load(Some(&file), []).unwrap();
        assert!(c.metrics_token.is_some());
        assert_eq!(c.trusted_proxies.len(), 2);
        let env = [(
            "JISHI_TRUSTED_PROXIES".to_owned(),
            "127.0.0.1, 10.1.0.0/16".to_owned(),
        )];
        assert_eq!(Config::load(None, env).unwrap().trusted_proxies.len(), 2);
        let env = [("JISHI_TRUSTED_PROXIES".to_owned(), "10.0.0.0/40".to_owned())];
        assert!(Config::load(None, env).is_err());
    }
}
