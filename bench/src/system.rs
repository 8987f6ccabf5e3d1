//! What the load generator needs from the operating system: a file-descriptor limit high enough
//! for its connections, a CPU core of its own, and a description of the machine for the report.

use serde::Serialize;

/// Raises this process's soft file-descriptor limit to its hard limit and returns the new soft
/// limit. Servers started afterwards inherit it.
pub fn raise_file_descriptor_limit() -> std::io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // Try for a million first: a privileged process may raise the hard limit too.
        let wanted = libc::rlimit {
            rlim_cur: 1 << 20,
            rlim_max: 1 << 20,
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
            return Ok(wanted.rlim_cur);
        }
        limit.rlim_cur = limit.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(limit.rlim_cur)
}

/// Moves this process to the round-robin real-time scheduling class (root only); servers
/// started afterwards inherit it. On a machine that also runs builds and tests, ordinary
/// priorities (even nice -20) still let a waking server wait for another task's time slice, which
/// left both benchmark processes mostly idle and the rates depending on the machine's load. The
/// kernel keeps 5% of each core for other tasks (sched_rt_runtime_us), and every scenario is
/// bounded, so nothing is starved for long.
pub fn use_realtime_scheduling() -> std::io::Result<()> {
    let parameters = libc::sched_param { sched_priority: 10 };
    // SAFETY: sched_setscheduler only reads the parameters and changes this process's policy.
    let status = unsafe { libc::sched_setscheduler(0, libc::SCHED_RR, &parameters) };
    if status != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Pins the calling thread (and the threads it starts afterwards) to one CPU core.
pub fn pin_current_thread_to_core(core: usize) -> std::io::Result<()> {
    // SAFETY: cpu_set_t is plain data; CPU_SET writes inside it; sched_setaffinity(0) targets
    // the calling thread.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// The machine a run happened on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpu_model: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub file_descriptor_limit: u64,
    /// `/proc/loadavg` when the run started: other work on the machine (builds, tests) competes
    /// with the servers and the load generator for the same two cores and skews absolute rates.
    pub load_average_at_start: String,
}

impl Machine {
    pub fn describe(file_descriptor_limit: u64) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|line| line.starts_with("model name"))
            .and_then(|line| line.split(':').nth(1))
            .map(|model| model.trim().to_string())
            .unwrap_or_else(|| "unknown".to_string());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_kib: f64 = meminfo
            .lines()
            .find(|line| line.starts_with("MemTotal:"))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0.0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|release| release.trim().to_string())
            .unwrap_or_default();
        Machine {
            cpu_model,
            cores: std::thread::available_parallelism().map_or(1, |cores| cores.get()),
            memory_gib: (memory_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
            kernel,
            file_descriptor_limit,
            load_average_at_start: load_average(),
        }
    }
}

/// The first three fields of `/proc/loadavg` (1, 5 and 15 minute load averages).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}
