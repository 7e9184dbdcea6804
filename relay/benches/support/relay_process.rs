//! The release `rollgym` binary as a process of its own, so a benchmark measures the relay's
//! memory, CPU and descriptors alone. Shared by the relay benchmarks (each uses a part).

#![allow(dead_code, reason = "each benchmark uses a different part")]

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
};

/// The admin token every benchmarked relay runs with.
pub(crate) const ADMIN_TOKEN: &str = "bench-token";

pub(crate) struct RelayProcess {
    child: Child,
    pub(crate) addr: SocketAddr,
    data: std::path::PathBuf,
}

impl RelayProcess {
    /// Serves `experiment` (TOML text) on an ephemeral port with a fresh data directory named
    /// after `name`; pinned to core `pin` with `taskset` when given.
    pub(crate) fn start(name: &str, experiment: &str, pin: Option<usize>) -> Self {
        let bin = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/release/rollgym");
        let data = std::env::temp_dir().join(format!("rollgym-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&data).expect("data dir");
        let file = data.join("experiment.toml");
        std::fs::write(&file, experiment).expect("experiment");
        let mut command = match pin {
            Some(core) => {
                let mut c = Command::new("taskset");
                c.args(["-c", &core.to_string(), bin]);
                c
            }
            None => Command::new(bin),
        };
        let mut child = command
            .args(["serve", "--addr", "127.0.0.1:0", "--data-dir"])
            .arg(&data)
            .arg(&file)
            .env("RUST_LOG", "warn")
            .env("ROLLGYM_ADMIN_TOKEN", ADMIN_TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run target/release/rollgym (make build first)");
        let stdout = child.stdout.take().expect("stdout");
        let line = BufReader::new(stdout).lines().next().expect("a line").expect("utf-8");
        let url = line.split_whitespace().last().expect("url");
        let addr = url.trim_start_matches("http://").parse().expect("relay address");
        Self { child, addr, data }
    }

    pub(crate) fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(crate) fn rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    }

    /// Open file descriptors (its sockets among them).
    pub(crate) fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid())).map_or(0, |d| d.count())
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

/// Pins every thread of this process to `core` (threads created later inherit it).
pub(crate) fn pin_self(core: usize) {
    let pid = std::process::id().to_string();
    let _ = Command::new("taskset")
        .args(["-a", "-c", "-p", &core.to_string(), &pid])
        .stdout(Stdio::null())
        .status();
}

/// utime + stime of a `/proc/<pid>/stat` file, in seconds (clock ticks are 1/100 s on Linux).
pub(crate) fn cpu_seconds(stat_path: &str) -> f64 {
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15; `fields` starts at field 3.
    (ticks(11) + ticks(12)) / 100.0
}
