//! Measuring: [`Latencies`] (an HDR histogram in microseconds), the closed-loop
//! [`drive`]r that runs N workers against a budget, and the [`Progress`] bar.

use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The longest latency the histograms hold (longer samples are clamped to it).
const MAX_MICROS: u64 = 600_000_000;

/// Latency samples in microseconds, 3 significant digits, fixed memory.
#[derive(Debug, Clone)]
pub struct Latencies {
    histogram: Histogram<u64>,
}

impl Default for Latencies {
    fn default() -> Self {
        Self::new()
    }
}

impl Latencies {
    /// An empty set.
    pub fn new() -> Self {
        // 1 µs .. 10 min at 3 significant digits: these bounds are valid constants.
        let histogram = Histogram::new_with_bounds(1, MAX_MICROS, 3)
            .unwrap_or_else(|_| unreachable!("constant histogram bounds are valid"));
        Self { histogram }
    }

    /// Records one latency.
    pub fn record(&mut self, latency: Duration) {
        let micros = (latency.as_micros() as u64).clamp(1, MAX_MICROS);
        self.histogram.saturating_record(micros);
    }

    /// Adds another set's samples.
    pub fn merge(&mut self, other: &Latencies) {
        // Same bounds on both sides, so adding cannot fail.
        let _ = self.histogram.add(&other.histogram);
    }

    /// How many samples.
    pub fn len(&self) -> u64 {
        self.histogram.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.histogram.is_empty()
    }

    /// The latency at `quantile` (0..=1) in milliseconds; 0 when empty.
    pub fn quantile_ms(&self, quantile: f64) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        self.histogram.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// The largest latency in milliseconds; 0 when empty.
    pub fn max_ms(&self) -> f64 {
        if self.is_empty() {
            return 0.0;
        }
        self.histogram.max() as f64 / 1000.0
    }
}

/// What a run of operations measured.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// Operations completed, failed ones included.
    pub operations: u64,
    /// Operations that failed.
    pub errors: u64,
    /// The first failure's message, to say what went wrong.
    pub first_error: Option<String>,
    /// Latencies of the successful operations.
    pub latencies: Latencies,
    /// From the first operation's start to the last one's end.
    pub elapsed: Duration,
    /// The share of the machine's CPU other processes used meanwhile (0..=1), when known.
    pub others_cpu: Option<f64>,
}

impl Measured {
    /// Successful operations per second.
    pub fn ops_per_sec(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds <= 0.0 {
            return 0.0;
        }
        (self.operations - self.errors) as f64 / seconds
    }

    /// Counts one outcome.
    pub fn add(&mut self, outcome: Result<Duration, String>) {
        self.operations += 1;
        match outcome {
            Ok(latency) => self.latencies.record(latency),
            Err(error) => {
                self.errors += 1;
                if self.first_error.is_none() {
                    self.first_error = Some(error);
                }
            }
        }
    }

    /// Adds another worker's counts (not its elapsed time or CPU share).
    pub fn merge(&mut self, other: Measured) {
        self.operations += other.operations;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latencies.merge(&other.latencies);
    }
}

/// Watches how much CPU other processes take while a row runs: on a small shared
/// machine a build next door halves a row's throughput, and the table should say so.
/// Reads Linux's `/proc/stat` (the machine) and `/proc/self/stat` (this process, fakes
/// and server included); elsewhere it knows nothing.
#[derive(Debug, Clone, Copy)]
pub struct CpuWatch {
    start: Option<(u64, u64, u64)>,
}

impl CpuWatch {
    /// Starts watching now.
    pub fn start() -> Self {
        Self {
            start: cpu_sample(),
        }
    }

    /// Other processes' share of the machine's CPU since [`CpuWatch::start`] (0..=1).
    pub fn others_share(&self) -> Option<f64> {
        let (busy0, total0, own0) = self.start?;
        let (busy1, total1, own1) = cpu_sample()?;
        let total = total1.checked_sub(total0)?;
        if total == 0 {
            return None;
        }
        let others = busy1
            .saturating_sub(busy0)
            .saturating_sub(own1.saturating_sub(own0));
        Some((others as f64 / total as f64).clamp(0.0, 1.0))
    }
}

/// (busy ticks of all CPUs, all ticks of all CPUs, this process's user+system ticks).
fn cpu_sample() -> Option<(u64, u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let [user, nice, system, idle, iowait, irq, softirq, steal] = fields[..] else {
        return None;
    };
    let busy = user + nice + system + irq + softirq + steal;
    let own = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name: state is the 3rd field, utime the
    // 14th and stime the 15th of the whole line.
    let after = own.rsplit_once(')')?.1;
    let mut rest = after.split_whitespace().skip(11);
    let utime: u64 = rest.next()?.parse().ok()?;
    let stime: u64 = rest.next()?.parse().ok()?;
    Some((busy, busy + idle + iowait, utime + stime))
}

/// How long a row runs: a wall-clock duration or a number of operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// Workers start new operations until this much time has passed.
    For(Duration),
    /// Exactly this many operations, shared among the workers.
    Count(u64),
}

/// Shows a bar per row on stderr while it runs; draws nothing when disabled or when
/// stderr is not a terminal.
#[derive(Debug, Clone)]
pub struct Progress {
    enabled: bool,
}

impl Progress {
    /// A progress display, drawn only when `enabled`.
    pub fn new(enabled: bool) -> Self {
        Self { enabled }
    }

    /// A bar for one row; `done` is read every 100 ms.
    pub fn bar(&self, label: &str, budget: Budget, done: Arc<AtomicU64>) -> RowBar {
        let (length, unit) = match budget {
            Budget::For(duration) => (duration.as_millis() as u64, "ms"),
            Budget::Count(count) => (count, "ops"),
        };
        let bar = ProgressBar::with_draw_target(
            Some(length),
            if self.enabled {
                ProgressDrawTarget::stderr()
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        if let Ok(style) = ProgressStyle::with_template(&format!(
            "{{prefix:>34}} [{{bar:30}}] {{pos}}/{{len}} {unit} {{msg}}"
        )) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_prefix(label.to_owned());
        let started = Instant::now();
        let ticker_bar = bar.clone();
        let ticker = tokio::spawn(async move {
            loop {
                let position = match budget {
                    Budget::For(_) => started.elapsed().as_millis() as u64,
                    Budget::Count(_) => done.load(Ordering::Relaxed),
                };
                ticker_bar.set_position(position.min(length));
                ticker_bar.set_message(format!("{} ops", done.load(Ordering::Relaxed)));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        RowBar { bar, ticker }
    }
}

/// The bar of a running row; [`RowBar::finish`] clears it.
#[derive(Debug)]
pub struct RowBar {
    bar: ProgressBar,
    ticker: tokio::task::JoinHandle<()>,
}

impl RowBar {
    /// Stops and clears the bar.
    pub fn finish(self) {
        self.ticker.abort();
        self.bar.finish_and_clear();
    }
}

/// Runs `op(worker, sequence)` on `concurrency` tokio tasks until `budget` is spent,
/// timing each call, after `warmup` of the same load whose results are dropped (so
/// connections are open and caches warm when measuring starts). Each operation returns
/// `Ok(())` or a message saying what failed; `sequence` numbers the operations from 0
/// across all workers and both phases, so it can name unique records.
pub async fn drive<F, Fut>(
    progress: &Progress,
    label: &str,
    concurrency: usize,
    budget: Budget,
    warmup: Duration,
    op: F,
) -> Measured
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let op = Arc::new(op);
    let next = Arc::new(AtomicU64::new(0));
    if !warmup.is_zero() {
        let ignored = Arc::new(AtomicU64::new(0));
        run_workers(&op, &next, &ignored, concurrency, Budget::For(warmup)).await;
    }
    let done = Arc::new(AtomicU64::new(0));
    let bar = progress.bar(label, budget, done.clone());
    let watch = CpuWatch::start();
    let mut total = run_workers(&op, &next, &done, concurrency, budget).await;
    total.others_cpu = watch.others_share();
    bar.finish();
    total
}

async fn run_workers<F, Fut>(
    op: &Arc<F>,
    next: &Arc<AtomicU64>,
    done: &Arc<AtomicU64>,
    concurrency: usize,
    budget: Budget,
) -> Measured
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let started = Instant::now();
    let (deadline, limit) = match budget {
        Budget::For(duration) => (Some(started + duration), u64::MAX),
        Budget::Count(count) => (None, next.load(Ordering::Relaxed).saturating_add(count)),
    };
    let mut workers = Vec::with_capacity(concurrency.max(1));
    for worker in 0..concurrency.max(1) {
        let (op, next, done) = (op.clone(), next.clone(), done.clone());
        workers.push(tokio::spawn(async move {
            let mut measured = Measured::default();
            loop {
                if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                    break;
                }
                let sequence = next.fetch_add(1, Ordering::Relaxed);
                if sequence >= limit {
                    break;
                }
                let start = Instant::now();
                let outcome = op(worker, sequence).await;
                measured.add(outcome.map(|()| start.elapsed()));
                done.fetch_add(1, Ordering::Relaxed);
            }
            measured
        }));
    }
    let mut total = Measured::default();
    for worker in workers {
        match worker.await {
            Ok(measured) => total.merge(measured),
            Err(error) => total.add(Err(format!("a worker task died: {error}"))),
        }
    }
    total.elapsed = started.elapsed();
    total
}

/// Open loop: starts `op(slot, sequence)` at `rate` per second for the budget, whatever
/// the server is doing, with at most `concurrency` in flight (`slot` is a free one of
/// them, for a per-connection client). Latency runs from when the operation was due, so
/// time spent waiting for a free slot counts (no coordinated omission).
pub async fn drive_rate<F, Fut>(
    progress: &Progress,
    label: &str,
    concurrency: usize,
    rate: u32,
    budget: Budget,
    op: F,
) -> Measured
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let count = match budget {
        Budget::Count(count) => count,
        Budget::For(duration) => (duration.as_secs_f64() * f64::from(rate.max(1))).ceil() as u64,
    };
    let op = Arc::new(op);
    let done = Arc::new(AtomicU64::new(0));
    let bar = progress.bar(label, Budget::Count(count), done.clone());
    let (slots_tx, slots_rx) = tokio::sync::mpsc::channel(concurrency.max(1));
    for slot in 0..concurrency.max(1) {
        // The channel holds exactly `concurrency` slots, so this never waits.
        let _ = slots_tx.try_send(slot);
    }
    let slots = Arc::new(tokio::sync::Mutex::new(slots_rx));
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let watch = CpuWatch::start();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(count as usize);
    for sequence in 0..count {
        let due = ticks.tick().await.into_std();
        let (op, done, slots, slots_tx) =
            (op.clone(), done.clone(), slots.clone(), slots_tx.clone());
        tasks.push(tokio::spawn(async move {
            let slot = slots.lock().await.recv().await;
            let outcome = match slot {
                Some(slot) => {
                    let outcome = op(slot, sequence).await;
                    let _ = slots_tx.send(slot).await;
                    outcome.map(|()| due.elapsed())
                }
                None => Err("no connection slot".to_owned()),
            };
            done.fetch_add(1, Ordering::Relaxed);
            outcome
        }));
    }
    let mut total = Measured::default();
    for task in tasks {
        match task.await {
            Ok(outcome) => total.add(outcome),
            Err(error) => total.add(Err(format!("an operation task died: {error}"))),
        }
    }
    total.elapsed = started.elapsed();
    total.others_cpu = watch.others_share();
    bar.finish();
    total
}

/// A well-mixed 64-bit value from a counter (splitmix64), to pick records uniformly
/// without a shared random generator.
pub fn mix(sequence: u64) -> u64 {
    let mut z = sequence.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Nanoseconds on CPU, so far, of this process's threads named `name` (Linux's
/// `/proc/self/task/*/comm` and `schedstat`; 0 elsewhere). A server that runs on its own
/// named thread is measured apart from the client driving it in the same process.
pub fn thread_cpu_ns(name: &str) -> u64 {
    // Linux keeps the first 15 bytes of a thread's name.
    let name = name.get(..name.len().min(15)).unwrap_or(name);
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|comm| comm.trim_end() == name)
        })
        .filter_map(|task| {
            let schedstat = std::fs::read_to_string(task.path().join("schedstat")).ok()?;
            schedstat.split_whitespace().next()?.parse::<u64>().ok()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_the_samples() {
        let mut latencies = Latencies::new();
        for ms in 1..=100 {
            latencies.record(Duration::from_millis(ms));
        }
        assert_eq!(latencies.len(), 100);
        assert!((latencies.quantile_ms(0.5) - 50.0).abs() < 0.1);
        assert!((latencies.quantile_ms(0.99) - 99.0).abs() < 0.1);
        assert!((latencies.max_ms() - 100.0).abs() < 0.1);
        assert_eq!(Latencies::new().quantile_ms(0.5), 0.0);
    }

    #[tokio::test]
    async fn a_count_budget_runs_exactly_that_many_operations() {
        let measured = drive(
            &Progress::new(false),
            "test",
            4,
            Budget::Count(25),
            Duration::ZERO,
            |_, sequence| async move {
                if sequence == 3 {
                    Err("three".to_owned())
                } else {
                    Ok(())
                }
            },
        )
        .await;
        assert_eq!(measured.operations, 25);
        assert_eq!(measured.errors, 1);
        assert_eq!(measured.first_error.as_deref(), Some("three"));
        assert_eq!(measured.latencies.len(), 24);
    }

    #[tokio::test]
    async fn warmup_results_are_dropped_and_sequences_continue() {
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        let measured = drive(
            &Progress::new(false),
            "test",
            2,
            Budget::Count(10),
            Duration::from_millis(20),
            move |_, sequence| {
                record.lock().map(|mut seen| seen.push(sequence)).ok();
                async move {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                    Err::<(), _>("always".to_owned())
                }
            },
        )
        .await;
        assert_eq!(measured.operations, 10);
        let mut seen = seen.lock().map(|seen| seen.clone()).unwrap_or_default();
        let total = seen.len();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), total, "no sequence number is handed out twice");
        assert!(total > 10, "the warm-up ran operations too");
    }

    #[tokio::test]
    async fn the_open_loop_runs_every_operation_within_its_slots() {
        let in_flight = Arc::new(AtomicU64::new(0));
        let peak = Arc::new(AtomicU64::new(0));
        let (now, top) = (in_flight.clone(), peak.clone());
        let measured = drive_rate(
            &Progress::new(false),
            "test",
            2,
            1000,
            Budget::Count(20),
            move |slot, _| {
                let (now, top) = (now.clone(), top.clone());
                async move {
                    assert!(slot < 2);
                    let current = now.fetch_add(1, Ordering::SeqCst) + 1;
                    top.fetch_max(current, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    Ok(())
                }
            },
        )
        .await;
        assert_eq!(measured.operations, 20);
        assert_eq!(measured.errors, 0);
        assert!(peak.load(Ordering::SeqCst) <= 2);
    }

    #[test]
    fn the_cpu_watch_reports_a_share_on_linux() {
        let watch = CpuWatch::start();
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_add(mix(i));
        }
        assert_ne!(x, 1);
        if cfg!(target_os = "linux") {
            let share = watch.others_share();
            assert!(
                share.is_none_or(|share| (0.0..=1.0).contains(&share)),
                "{share:?}"
            );
        }
    }

    #[test]
    fn mix_spreads_consecutive_counters() {
        let buckets: std::collections::HashSet<u64> = (0..100).map(|i| mix(i) % 1000).collect();
        assert!(buckets.len() > 90);
    }

    #[test]
    fn thread_cpu_counts_only_the_named_threads() {
        let (done, wait) = std::sync::mpsc::channel::<()>();
        let (spun, spinning) = std::sync::mpsc::channel::<()>();
        let busy = std::thread::Builder::new()
            .name("bench-cpu-test-busy-thread".to_owned())
            .spawn(move || {
                // Spins until its own name shows 20 ms of CPU (or 5 s pass, when the
                // function is broken), however busy the machine is.
                let start = std::time::Instant::now();
                while thread_cpu_ns("bench-cpu-test-busy-thread") < 20_000_000
                    && start.elapsed() < std::time::Duration::from_secs(5)
                {
                    std::hint::black_box(0u64);
                }
                spun.send(()).unwrap();
                // Kept alive so the thread is still listed when it is measured.
                let _ = wait.recv();
            })
            .unwrap();
        spinning.recv().unwrap();
        if std::path::Path::new("/proc/self/task").exists() {
            assert!(thread_cpu_ns("bench-cpu-test-busy-thread") >= 20_000_000);
            assert_eq!(thread_cpu_ns("no-such-thread-name"), 0);
        }
        drop(done);
        busy.join().unwrap();
    }
}
