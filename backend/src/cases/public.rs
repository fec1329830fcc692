//! Filing and following a case without an account: the abuse checks in
//! front of [`super::file`] and [`super::lookup`]. In order: the filing
//! itself (nothing counted for a form filled wrong), the proof of work,
//! spending it (one proof, one attempt: a replay counts against nobody's
//! limit), and the limits per address and per phone, kept in the database
//! so that they hold on every instance. An IPv6 address counts by its /64
//! (one subscriber's network).

use std::net::IpAddr;

use super::pow::{self, PowError};
use super::{CaseError, Filed, Filing, PublicCase, Via};
use crate::problem::{IntoProblem, Problem};
use crate::state::AppState;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

#[derive(Debug, thiserror::Error)]
pub enum PublicError {
    #[error(transparent)]
    Case(#[from] CaseError),
    #[error("proof of work: {0}")]
    Proof(PowError),
    #[error("this proof of work was used already; ask for a new challenge")]
    Replayed,
    #[error("too many cases from this {per}; try again in {retry_after_secs} s")]
    TooMany {
        per: &'static str,
        retry_after_secs: u64,
    },
}

impl PublicError {
    /// What the public is told.
    pub fn zh(&self) -> String {
        match self {
            PublicError::Case(e) => e.zh(),
            PublicError::Proof(_) => {
                "页面已过期，请再点一次“提交”。您填写的内容都还在。".into()
            }
            PublicError::Replayed => {
                "这份反映已经提交过了，请勿重复提交。请凭查询码查看办理进度；如未记下查询码，可拨打监督电话查询。"
                    .into()
            }
            PublicError::TooMany {
                per,
                retry_after_secs,
            } => {
                let wait = match retry_after_secs.div_ceil(60) {
                    m if m >= 60 => format!("{}小时", m.div_ceil(60)),
                    m => format!("{m}分钟"),
                };
                let who = if *per == "phone" {
                    "这个电话号码"
                } else {
                    "您所在的网络"
                };
                format!("{who}提交得太频繁了，请{wait}后再试；情况紧急请直接拨打监督电话。")
            }
        }
    }
}

impl IntoProblem for PublicError {
    fn into_problem(self) -> Problem {
        match self {
            PublicError::Case(e) => e.into_problem(),
            PublicError::Proof(e) => Problem::Invalid {
                code: "bad_proof",
                message: format!("proof of work: {e}"),
            },
            PublicError::Replayed => Problem::Invalid {
                code: "proof_used",
                message: PublicError::Replayed.to_string(),
            },
            e @ PublicError::TooMany {
                retry_after_secs, ..
            } => Problem::Limited {
                code: "too_many_cases",
                message: e.to_string(),
                retry_after_secs,
            },
        }
    }
}

crate::edge_error!(PublicError);

/// What the limits count an address as: itself, or an IPv6 address's /64.
fn network_of(addr: IpAddr) -> String {
    match addr.to_canonical() {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => {
            let s = a.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// A fresh challenge for the form, asking the configured bits.
pub fn challenge(state: &AppState) -> (String, u32) {
    let bits = state.config.case_pow_bits.min(pow::MAX_BITS);
    (
        pow::challenge(state.keys.challenge_key(), bits, crate::storage::now_ms()),
        bits,
    )
}

/// File `f` for the public at `addr`, with the proof `answer` to
/// `challenge`.
pub async fn file(
    state: &AppState,
    addr: IpAddr,
    f: &Filing,
    challenge: &str,
    answer: &str,
) -> Result<Filed, PublicError> {
    let (_, _, _, phone) = super::check(f)?;
    super::target(state, f).await?;
    let expires = pow::verify(
        state.keys.challenge_key(),
        challenge,
        answer,
        state.config.case_pow_bits,
        crate::storage::now_ms(),
    )
    .map_err(PublicError::Proof)?;
    if !state
        .store
        .spend_pow(challenge, expires)
        .await
        .map_err(CaseError::from)?
    {
        return Err(PublicError::Replayed);
    }
    let by_addr = state
        .store
        .count_attempts_over(&[format!("case-addr:{}", network_of(addr))], HOUR_MS)
        .await
        .map_err(CaseError::from)?;
    if by_addr.counts[0] > i64::from(state.config.case_filings_per_address_hour) {
        return Err(PublicError::TooMany {
            per: "address",
            retry_after_secs: (by_addr.window_left_ms / 1000).max(1) as u64,
        });
    }
    let by_phone = state
        .store
        .count_attempts_over(&[format!("case-phone:{phone}")], DAY_MS)
        .await
        .map_err(CaseError::from)?;
    if by_phone.counts[0] > i64::from(state.config.case_filings_per_phone_day) {
        return Err(PublicError::TooMany {
            per: "phone",
            retry_after_secs: (by_phone.window_left_ms / 1000).max(1) as u64,
        });
    }
    Ok(super::file(state, f, Via::Public, None).await?)
}

/// The case of the tracking code `code`, for the public at `addr`.
pub async fn lookup(state: &AppState, addr: IpAddr, code: &str) -> Result<PublicCase, PublicError> {
    let tries = state
        .store
        .count_attempts(&[format!("case-lookup:{}", network_of(addr))])
        .await
        .map_err(CaseError::from)?;
    if tries.counts[0] > i64::from(state.config.case_lookups_per_address_minute) {
        return Err(PublicError::TooMany {
            per: "address",
            retry_after_secs: (tries.window_left_ms / 1000).max(1) as u64,
        });
    }
    Ok(super::lookup(state, code).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_subscriber_is_one_network() {
        let a: IpAddr = "2408:8000:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2408:8000:1:2:bbbb::9".parse().unwrap();
        assert_eq!(network_of(a), network_of(b));
        let v4: IpAddr = "::ffff:10.0.0.7".parse().unwrap();
        assert_eq!(network_of(v4), "10.0.0.7");
    }
}
