//! The child processes appc starts (cargo, the app's server, npm, tsc, Vite): each runs in
//! its own process group, so stopping one stops everything it started in turn (rustc under
//! cargo, esbuild under Vite), and Ctrl-C or SIGTERM to appc stops them all before appc exits.
//!
//! A child in its own group no longer receives the terminal's Ctrl-C, which is why every group
//! is registered here and [`stop_all_on_signal`] forwards the end to them.
//!
//! One child at a time may be marked as the build that a newer save cancels (cargo under
//! `appc dev`): [`spawn_cancellable`] and [`cancel_build`].

use std::io::{self, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The process groups started and not yet known to have ended (a group's id is its leader's pid).
static RUNNING_GROUPS: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// Set once a signal has asked appc to stop, so that children ending now are not reported as
/// failures.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// The process group of the build a newer save may cancel, while it runs.
static CANCELLABLE_BUILD: Mutex<Option<u32>> = Mutex::new(None);

/// Set when [`cancel_build`] ended the cancellable build; read and cleared by
/// [`take_build_cancelled`].
static BUILD_CANCELLED: AtomicBool = AtomicBool::new(false);

/// How long a group may take to end after SIGTERM before it is killed outright.
const GRACE_PERIOD: Duration = Duration::from_secs(3);

/// Spawns `command` as the leader of a new process group and registers the group, so that a
/// signal to appc ends it too. Call [`forget`] once the child has been waited for.
pub fn spawn_in_own_group(command: &mut Command) -> io::Result<Child> {
    // Holding the lock across the spawn means a signal arriving in between cannot miss the child.
    let mut groups = lock_groups();
    let child = command.process_group(0).spawn()?;
    groups.push(child.id());
    Ok(child)
}

/// Like [`spawn_in_own_group`], and marks the child as the build that [`cancel_build`] ends.
/// [`forget`] unmarks it.
pub fn spawn_cancellable(command: &mut Command) -> io::Result<Child> {
    let mut cancellable = lock(&CANCELLABLE_BUILD);
    let child = spawn_in_own_group(command)?;
    *cancellable = Some(child.id());
    Ok(child)
}

/// Lowers a background child's CPU priority (nice 10), so that on a busy machine it yields to
/// the work someone is waiting for (a compile, the server). Best effort: failure changes nothing.
pub fn lower_priority(child: &Child) {
    // SAFETY: setpriority only changes the scheduling of the process `child.id()`, our child.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, child.id(), 10);
    }
}

/// Ends the running cancellable build's process group (SIGKILL: its output is of no use any
/// more, and cargo's build lock is released when it dies). Returns whether one was running.
/// The one waiting for the build sees it fail, and [`take_build_cancelled`] says why.
pub fn cancel_build() -> bool {
    let cancellable = lock(&CANCELLABLE_BUILD);
    let Some(pid) = *cancellable else {
        return false;
    };
    BUILD_CANCELLED.store(true, Ordering::SeqCst);
    signal_group(pid, libc::SIGKILL);
    true
}

/// Whether [`cancel_build`] ended a build since the last call; clears the mark.
pub fn take_build_cancelled() -> bool {
    BUILD_CANCELLED.swap(false, Ordering::SeqCst)
}

/// Runs `command` to completion as the leader of its own process group (so a signal to appc
/// ends it and everything it started) and collects its output, like `Command::output`. When
/// appc is being stopped, blocks here instead of returning the killed child's failure.
pub fn output_in_own_group(command: &mut Command) -> io::Result<Output> {
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = spawn_in_own_group(command)?;
    let pid = child.id();
    let output = child.wait_with_output();
    forget_pid(pid);
    wait_here_if_stopping();
    output
}

/// Removes a child that has ended (and was waited for) from the registry.
pub fn forget(child: &Child) {
    forget_pid(child.id());
}

fn forget_pid(pid: u32) {
    let mut cancellable = lock(&CANCELLABLE_BUILD);
    if *cancellable == Some(pid) {
        *cancellable = None;
    }
    lock_groups().retain(|running| *running != pid);
}

/// Stops a child's whole process group: SIGTERM, then SIGKILL when it has not ended within the
/// grace period. Waits for the child, so no zombie is left.
pub fn stop_group(child: &mut Child) {
    let pid = child.id();
    if matches!(child.try_wait(), Ok(Some(_))) {
        // The leader has ended; anything it left in its group is ended too.
        signal_group(pid, libc::SIGKILL);
        forget(child);
        return;
    }
    signal_group(pid, libc::SIGTERM);
    let deadline = Instant::now() + GRACE_PERIOD;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    signal_group(pid, libc::SIGKILL);
    let _ = child.wait();
    forget(child);
}

/// Starts a thread that, on SIGINT (Ctrl-C), SIGTERM or SIGHUP, ends every registered process
/// group, prints `farewell` (when given) and then exits appc with 130 (the shell's code for an
/// interrupted command).
pub fn stop_all_on_signal(farewell: Option<&'static str>) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("signals".to_owned())
        .spawn(move || {
            if signals.forever().next().is_some() {
                STOPPING.store(true, Ordering::SeqCst);
                stop_all_groups();
                // Not `eprintln!`: when whoever read appc's output is gone (a closed pipe), it
                // would panic this thread before the exit below, and appc would wait forever.
                if let Some(farewell) = farewell {
                    let _ = writeln!(io::stderr(), "{farewell}");
                }
                std::process::exit(130);
            }
        })?;
    Ok(())
}

/// Whether appc is stopping because of a signal (its children are being ended on purpose).
pub fn is_stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

/// When appc is stopping, blocks the calling thread until the signal thread has ended the
/// children and exited, so that a child ended on purpose is not reported as a failure.
pub fn wait_here_if_stopping() {
    while is_stopping() {
        std::thread::park_timeout(Duration::from_secs(1));
    }
}

/// Ends every registered group: SIGTERM to all, a grace period for their leaders to exit, then
/// SIGKILL to whatever is left.
fn stop_all_groups() {
    let groups = lock_groups().clone();
    for pid in &groups {
        signal_group(*pid, libc::SIGTERM);
    }
    let deadline = Instant::now() + GRACE_PERIOD;
    let mut waiting = groups.clone();
    while !waiting.is_empty() && Instant::now() < deadline {
        // Reaping here is fine: appc exits right after, so no `Child` will wait for them again.
        waiting.retain(|pid| {
            let mut status = 0;
            // SAFETY: waitpid with WNOHANG on a pid we spawned only reads the child's state.
            let reaped = unsafe { libc::waitpid(*pid as libc::pid_t, &mut status, libc::WNOHANG) };
            reaped == 0
        });
        std::thread::sleep(Duration::from_millis(20));
    }
    for pid in &groups {
        signal_group(*pid, libc::SIGKILL);
    }
}

/// Sends `signal` to every process of the group led by `pid`; a group that is gone is ignored.
fn signal_group(pid: u32, signal: libc::c_int) {
    let Ok(group) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill has no memory effects; a negative pid addresses the process group, and the
    // group ids passed here are those of children spawned as group leaders.
    unsafe {
        libc::kill(-group, signal);
    }
}

fn lock_groups() -> std::sync::MutexGuard<'static, Vec<u32>> {
    lock(&RUNNING_GROUPS)
}

fn lock<T>(mutex: &'static Mutex<T>) -> std::sync::MutexGuard<'static, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stopping_a_group_ends_its_grandchildren_too() {
        // A shell that starts a long sleep in the background and waits: killing only the shell
        // would leave the sleep running.
        let mut command = Command::new("sh");
        command.args(["-c", "sleep 300 & echo $! ; wait"]);
        command.stdout(std::process::Stdio::piped());
        let mut child = spawn_in_own_group(&mut command).unwrap();
        let mut line = String::new();
        io::BufRead::read_line(
            &mut io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let grandchild: i32 = line.trim().parse().unwrap();
        assert!(lock_groups().contains(&child.id()));

        stop_group(&mut child);

        assert!(!lock_groups().contains(&child.id()));
        let deadline = Instant::now() + Duration::from_secs(5);
        while is_running(grandchild) {
            assert!(
                Instant::now() < deadline,
                "the grandchild {grandchild} still runs"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn cancelling_the_build_ends_it_and_says_so_once() {
        let mut command = Command::new("sh");
        command.args(["-c", "sleep 300"]);
        let mut child = spawn_cancellable(&mut command).unwrap();
        assert!(cancel_build());
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "the cancelled build ended well: {status}"
        );
        forget(&child);
        assert!(take_build_cancelled());
        assert!(
            !take_build_cancelled(),
            "the cancellation was reported twice"
        );
        assert!(!cancel_build(), "a finished build can still be cancelled");
        assert!(!lock_groups().contains(&child.id()));
    }

    #[test]
    fn output_in_own_group_collects_output_and_status_like_command_output() {
        let output =
            output_in_own_group(Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]))
                .unwrap();
        assert_eq!(String::from_utf8_lossy(&output.stdout), "out\n");
        assert_eq!(String::from_utf8_lossy(&output.stderr), "err\n");
        assert_eq!(output.status.code(), Some(3));
    }

    /// Whether a process exists and has not ended (a zombie waiting to be reaped has ended).
    fn is_running(pid: i32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            // The state follows the parenthesised command name: `pid (name) S ...`.
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X']))
        })
    }
}
