//! Where the CPU went: cumulative times from `/proc`, for the app's threads,
//! the rest of this process (the load clients), PostgreSQL and the machine.

use crate::stats::CpuUse;

/// Cumulative CPU times read from `/proc`; `None` where that is unavailable.
pub struct CpuSnapshot {
    app: u64,
    client: u64,
    postgres: u64,
    machine_busy: u64,
    machine_total: u64,
    cpus: usize,
}

impl CpuSnapshot {
    pub fn take() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let cpu: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        let machine_total: u64 = cpu.iter().take(8).sum();
        let idle = cpu.get(3)? + cpu.get(4).copied().unwrap_or(0);
        let cpus = stat
            .lines()
            .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
            .count();
        // The whole process (exited threads included), and the app's threads: actix
        // workers and the password hashing pool.
        let (_, process) = proc_stat(std::path::Path::new("/proc/self/stat"))?;
        let mut app = 0;
        for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            if let Some((comm, ticks)) = proc_stat(&task.path().join("stat"))
                && (comm.starts_with("actix") || comm.starts_with("argon2"))
            {
                app += ticks;
            }
        }
        let mut postgres = 0;
        for proc in std::fs::read_dir("/proc").ok()?.flatten() {
            let name = proc.file_name();
            if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if let Some((comm, ticks)) = proc_stat(&proc.path().join("stat"))
                && comm == "postgres"
            {
                postgres += ticks;
            }
        }
        Some(Self {
            app,
            client: process.saturating_sub(app),
            postgres,
            machine_busy: machine_total - idle,
            machine_total,
            cpus,
        })
    }

    pub fn since(&self, before: &Self) -> CpuUse {
        let total = self
            .machine_total
            .saturating_sub(before.machine_total)
            .max(1);
        CpuUse {
            app: self.app.saturating_sub(before.app),
            client: self.client.saturating_sub(before.client),
            postgres: self.postgres.saturating_sub(before.postgres),
            busy: self.machine_busy.saturating_sub(before.machine_busy),
            busy_share: self.machine_busy.saturating_sub(before.machine_busy) as f64 / total as f64,
            cpus: self.cpus,
        }
    }
}

/// The command name and user + system ticks of a `/proc/…/stat` file.
fn proc_stat(path: &std::path::Path) -> Option<(String, u64)> {
    let text = std::fs::read_to_string(path).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_owned();
    // After the command: state is field 3, utime field 14, stime field 15.
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}
