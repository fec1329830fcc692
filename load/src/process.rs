//! What Linux's `/proc` says about a process: its peak and current resident
//! memory and the CPU time it has used. Read by pid, so the load tool can
//! watch the server it drives (and itself) without the server's help.
//! Every reading is optional: another OS, or a process gone, gives `None`.

/// Kernel clock ticks per second in `/proc/*/stat` (`USER_HZ`): fixed at 100
/// in the Linux ABI on the architectures we run on.
const USER_HZ: f64 = 100.0;

/// A `kB` field of `/proc/PID/status`, in bytes.
fn status_field(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line
        .trim_start_matches(field)
        .trim_start_matches(':')
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Peak resident memory over the process's life (`VmHWM`).
pub fn peak_rss(pid: u32) -> Option<u64> {
    status_field(pid, "VmHWM")
}

/// Resident memory now (`VmRSS`).
pub fn rss(pid: u32) -> Option<u64> {
    status_field(pid, "VmRSS")
}

/// User plus system CPU seconds of all the process's threads so far.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields are counted after its `)`.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3 of stat(5); utime 14 and stime 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / USER_HZ)
}

/// The host, for the report: cores, CPU model, memory, load before the run.
pub fn host() -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_owned())
        .unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_total = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map(|kb| kb * 1024);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    serde_json::json!({
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu_model": model,
        "memory_bytes": mem_total,
        "loadavg_before": load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let me = std::process::id();
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(peak_rss(me).unwrap() >= rss(me).unwrap() / 2);
            assert!(cpu_seconds(me).unwrap() >= 0.0);
        }
    }
}
