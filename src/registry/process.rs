//! The process metrics of the Prometheus client guidelines
//! (<https://prometheus.io/docs/instrumenting/writing_clientlibs/#process-metrics>),
//! as callback metrics (`callback.rs`) reading Linux's `/proc/self` at each
//! collection.
#![forbid(unsafe_code)]

#[cfg(target_os = "linux")]
use super::{
    callback::{unlabeled, CallbackValue},
    Options,
};
use super::{Registry, RegistryError};
#[cfg(target_os = "linux")]
use crate::descriptor::Unit;

impl Registry {
    /// Registers the standard process metrics, read from `/proc/self` at
    /// each [`collect`](Registry::collect), under the names the Prometheus
    /// client guidelines give them:
    ///
    /// | metric | kind | value |
    /// |---|---|---|
    /// | `process_cpu_seconds_total` | counter | user + system CPU time (recorded in milliseconds, exported in seconds) |
    /// | `process_resident_memory_bytes` | gauge | resident set size (`VmRSS`) |
    /// | `process_virtual_memory_bytes` | gauge | virtual memory size |
    /// | `process_open_fds` | gauge | open file descriptors |
    /// | `process_max_fds` | gauge | the soft limit on open files (absent when unlimited) |
    /// | `process_start_time_seconds` | float gauge | start time, seconds since the Unix epoch |
    ///
    /// Opt-in, and Linux only: `Ok(true)` once registered; elsewhere it
    /// registers nothing and returns `Ok(false)`. A value `/proc` cannot
    /// give (not mounted, not readable) is left out of that collection.
    /// Each collection reads a few small `/proc` files; recording is not
    /// affected. Refused like any registration if one of the names is
    /// taken (calling it twice: [`Conflict::Callback`](crate::Conflict));
    /// through a [`sub`](Registry::sub) view the names get its prefix and
    /// constant labels.
    ///
    /// ```
    /// let reg = hotmetrics::Registry::new();
    /// if reg.register_process_metrics().unwrap() {
    ///     let snap = reg.collect();
    ///     assert!(snap.gauge("process_resident_memory_bytes").unwrap() > 0);
    ///     assert!(snap.float_gauge("process_start_time_seconds").unwrap() > 1e9);
    /// }
    /// ```
    pub fn register_process_metrics(&self) -> Result<bool, RegistryError> {
        #[cfg(target_os = "linux")]
        {
            self.register_linux_process_metrics()?;
            Ok(true)
        }
        #[cfg(not(target_os = "linux"))]
        {
            Ok(false)
        }
    }

    /// Registers one process metric computed by `read`.
    #[cfg(target_os = "linux")]
    fn process_metric<V: CallbackValue>(
        &self,
        options: Options,
        read: Box<dyn Fn() -> Option<V> + Send + Sync>,
    ) -> Result<(), RegistryError> {
        self.register_callback(options, false, unlabeled(read))
    }

    #[cfg(target_os = "linux")]
    fn register_linux_process_metrics(&self) -> Result<(), RegistryError> {
        use linux::*;
        let cpu = Options::new(
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
        )
        .unit(Unit::Milliseconds);
        self.process_metric::<u64>(
            cpu,
            Box::new(|| {
                let stat = Stat::read()?;
                Some((stat.field(UTIME)? + stat.field(STIME)?) * (1000 / USER_HZ))
            }),
        )?;
        let gauge = |name: &str, help: &str, unit: Unit| Options::new(name, help).unit(unit);
        self.process_metric::<i64>(
            gauge(
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                Unit::Bytes,
            ),
            Box::new(|| i64::try_from(status_kb("VmRSS:")?.checked_mul(1024)?).ok()),
        )?;
        self.process_metric::<i64>(
            gauge(
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                Unit::Bytes,
            ),
            Box::new(|| i64::try_from(Stat::read()?.field(VSIZE)?).ok()),
        )?;
        self.process_metric::<i64>(
            gauge(
                "process_open_fds",
                "Number of open file descriptors.",
                Unit::None,
            ),
            Box::new(open_fds),
        )?;
        self.process_metric::<i64>(
            gauge(
                "process_max_fds",
                "Maximum number of open file descriptors.",
                Unit::None,
            ),
            Box::new(max_fds),
        )?;
        // Fixed for the life of the process: computed once.
        let start = start_time();
        self.process_metric::<f64>(
            gauge(
                "process_start_time_seconds",
                "Start time of the process since unix epoch in seconds.",
                Unit::Seconds,
            ),
            Box::new(move || start),
        )
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::fs;

    /// The unit of the tick counts in `/proc` (`USER_HZ`, what
    /// `sysconf(_SC_CLK_TCK)` returns): the kernel converts to it from its
    /// own tick rate whatever `CONFIG_HZ` is, and it is 100 on every
    /// architecture Rust targets (`include/asm-generic/param.h`; alpha and
    /// ia64, which differ, are not among them). Reading it would take
    /// `libc` and `unsafe` for one constant; the tests check it against
    /// `getconf CLK_TCK`.
    pub(super) const USER_HZ: u64 = 100;

    /// Fields of `/proc/self/stat`, numbered as in proc(5).
    pub(super) const UTIME: usize = 14;
    pub(super) const STIME: usize = 15;
    pub(super) const STARTTIME: usize = 22;
    pub(super) const VSIZE: usize = 23;

    /// `/proc/self/stat`, from its third field on (after the command name,
    /// which may hold spaces and parentheses, so it is cut at the last `)`).
    pub(super) struct Stat(String);

    impl Stat {
        pub(super) fn read() -> Option<Stat> {
            let stat = fs::read_to_string("/proc/self/stat").ok()?;
            let at = stat.rfind(')')?;
            Some(Stat(stat.get(at + 1..)?.trim_start().to_owned()))
        }

        /// Field `n` (proc(5) numbering, 3 or more) as a number.
        pub(super) fn field(&self, n: usize) -> Option<u64> {
            self.0
                .split_ascii_whitespace()
                .nth(n.checked_sub(3)?)?
                .parse()
                .ok()
        }
    }

    /// The value of `key` (e.g. `VmRSS:`) in `/proc/self/status`, in kB.
    pub(super) fn status_kb(key: &str) -> Option<u64> {
        let status = fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find_map(|l| l.strip_prefix(key))?;
        line.split_ascii_whitespace().next()?.parse().ok()
    }

    /// Entries of `/proc/self/fd` (the directory's own descriptor, open
    /// while it is read, included).
    pub(super) fn open_fds() -> Option<i64> {
        let n = fs::read_dir("/proc/self/fd").ok()?.count();
        i64::try_from(n).ok()
    }

    /// The soft limit of `Max open files` in `/proc/self/limits`; `None`
    /// when unlimited.
    pub(super) fn max_fds() -> Option<i64> {
        let limits = fs::read_to_string("/proc/self/limits").ok()?;
        let rest = limits
            .lines()
            .find_map(|l| l.strip_prefix("Max open files"))?;
        rest.split_ascii_whitespace().next()?.parse().ok()
    }

    /// Boot time (`btime` in `/proc/stat`) plus the process's start, in
    /// ticks after boot: seconds since the Unix epoch.
    pub(super) fn start_time() -> Option<f64> {
        let stat = fs::read_to_string("/proc/stat").ok()?;
        let btime: u64 = stat
            .lines()
            .find_map(|l| l.strip_prefix("btime "))?
            .trim()
            .parse()
            .ok()?;
        let ticks = Stat::read()?.field(STARTTIME)?;
        Some(btime as f64 + ticks as f64 / USER_HZ as f64)
    }
}
