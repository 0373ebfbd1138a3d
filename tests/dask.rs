//! The Dask runner, scripts/dask_simulator.py: a built-in simulator run through it on a local cluster
//! gives exactly its own rows, in order; a worker killed during a batch loses no row; a failing chunk
//! is retried once and then named with the worker's stderr; finished shards survive a rerun; and
//! training runs its simulations on the cluster with no change to innfer.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::innfer;

fn runner_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/dask_simulator.py")
}

/// The built-in kinematics forward process (deterministic) as a simulator command.
fn kinematics() -> String {
    format!("{} --threads 1 --device cpu simulate --problem kinematics", env!("CARGO_BIN_EXE_innfer"))
}

/// `n` prior draws of kinematics' x, as CSV in `folder`.
fn prior_draws(folder: &Path, n: usize) -> PathBuf {
    let path = folder.join("x.csv");
    innfer().args(["generate", "--problem", "kinematics", "--x-only", "--n", &n.to_string(), "--out"]).arg(&path).assert().success();
    path
}

/// Runs `command` with the file `input` on its stdin, in `folder`.
fn run_with_input(command: &mut Command, input: &Path, folder: &Path) -> Output {
    command.current_dir(folder).stdin(File::open(input).unwrap()).output().unwrap()
}

/// The runner with `options`, running `simulator` on the rows of `input`.
fn runner(options: &[&str], simulator: &str, input: &Path, folder: &Path) -> Output {
    let mut command = Command::new("python3");
    command.arg(runner_script()).args(options).arg("--").arg(simulator);
    run_with_input(&mut command, input, folder)
}

/// What the plain simulator writes for `input`.
fn plain(simulator: &str, input: &Path, folder: &Path) -> Vec<u8> {
    let output = run_with_input(Command::new("sh").args(["-c", simulator]), input, folder);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_runner_gives_the_plain_simulators_rows_in_order() {
    let folder = tempfile::tempdir().unwrap();
    let x = prior_draws(folder.path(), 5000);
    let output = runner(&["--workers", "2", "--chunk", "700"], &kinematics(), &x, folder.path());
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(output.stdout == plain(&kinematics(), &x, folder.path()), "the runner's rows differ from the plain simulator's");
}

#[test]
fn a_failing_chunk_is_retried_once_then_named_with_its_stderr() {
    let folder = tempfile::tempdir().unwrap();
    let x = prior_draws(folder.path(), 3000);
    // Fails the first time it runs anywhere; the retry succeeds (on the same worker when it is the only one).
    let flaky = format!("if [ ! -e failed-once ]; then touch failed-once; echo 'out of licences' >&2; exit 3; fi; {}", kinematics());
    for workers in ["1", "2"] {
        std::fs::remove_file(folder.path().join("failed-once")).ok();
        let output = runner(&["--workers", workers, "--chunk", "1000"], &flaky, &x, folder.path());
        assert!(output.status.success(), "{workers} workers: {}", stderr(&output));
        assert!(folder.path().join("failed-once").exists(), "the simulator did fail once");
        assert!(output.stdout == plain(&kinematics(), &x, folder.path()));
    }

    // A simulator missing on the workers fails twice and is named, with the shell's message.
    let output = runner(&["--workers", "2", "--chunk", "1000"], "no-such-simulator --fast", &x, folder.path());
    let message = stderr(&output);
    assert!(!output.status.success() && output.stdout.is_empty(), "{message}");
    assert!(message.contains("failed twice, last on worker tcp://"), "{message}");
    assert!(message.contains("`no-such-simulator --fast` exited with code 127") && message.contains("not found"), "{message}");
    assert!(!message.contains("Traceback"), "{message}");
}

#[test]
fn an_unreachable_scheduler_is_named_within_its_timeout() {
    let folder = tempfile::tempdir().unwrap();
    let x = prior_draws(folder.path(), 10);
    let address = format!("tcp://127.0.0.1:{}", free_port());
    let started = Instant::now();
    let output = runner(&["--scheduler", &address, "--timeout", "2"], "cat", &x, folder.path());
    let message = stderr(&output);
    assert!(!output.status.success(), "{message}");
    assert!(message.contains(&format!("cannot reach a Dask scheduler with workers at {address} within 2 s")), "{message}");
    assert!(!message.contains("Traceback"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(30), "took {:?}", started.elapsed());
}

#[test]
fn shards_are_kept_and_a_rerun_writes_only_the_missing_ones() {
    let folder = tempfile::tempdir().unwrap();
    let x = prior_draws(folder.path(), 2500);
    let shards = folder.path().join("shards");
    // Each run of the simulator leaves a mark, to count the chunks that ran.
    std::fs::create_dir(folder.path().join("marks")).unwrap();
    let marked = format!("touch marks/$$; {}", kinematics());
    let out = ["--workers", "2", "--chunk", "1000", "--out", "shards"];
    let output = runner(&out, &marked, &x, folder.path());
    assert!(output.status.success() && output.stdout.is_empty(), "{}", stderr(&output));
    let parts = ["part-000000.parquet", "part-000001.parquet", "part-000002.parquet"];
    assert!(parts.iter().all(|part| shards.join(part).is_file()), "{:?}", std::fs::read_dir(&shards).unwrap().collect::<Vec<_>>());

    std::fs::remove_file(shards.join(parts[1])).unwrap();
    let output = runner(&out, &marked, &x, folder.path());
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("2 of 3 shards already written"), "{}", stderr(&output));
    assert_eq!(std::fs::read_dir(folder.path().join("marks")).unwrap().count(), 4, "three chunks, then the missing one");

    // The shards hold the pairs, in order: innfer reads them as data and they fit the plain rows.
    let run = folder.path().join("run");
    innfer()
        .args(["train", "--data"])
        .arg(&shards)
        .args(["--x", "x1..x4", "--y", "y1,y2", "--steps", "2", "--out"])
        .arg(&run)
        .assert()
        .success();
    // Streamed, one shard held out; a streamed run resumes.
    let streamed = folder.path().join("streamed");
    let stream = |extra: &[&str]| innfer().arg("train").args(extra).assert().success();
    stream(&[
        "--data",
        shards.to_str().unwrap(),
        "--x",
        "x1..x4",
        "--y",
        "y1,y2",
        "--stream",
        "--val",
        "0.3",
        "--steps",
        "2",
        "--out",
        streamed.to_str().unwrap(),
    ]);
    stream(&["--resume", streamed.to_str().unwrap(), "--steps", "4"]);
    let manifest = std::fs::read_to_string(streamed.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"buffer_rows\": \"1000000\"") && manifest.contains("\"steps\": 4"), "{manifest}");
    let check = "import glob, pyarrow.parquet as pq, pyarrow as pa; \
                 t = pa.concat_tables([pq.read_table(p) for p in sorted(glob.glob('shards/part-*.parquet'))]); \
                 print(t.num_rows); print(*t.column_names, sep=','); \
                 print(*(f'{v:.6f}' for v in t.column('y2').to_pylist()[::500]), sep=',')";
    let read = Command::new("python3").args(["-c", check]).current_dir(folder.path()).output().unwrap();
    assert!(read.status.success(), "{}", stderr(&read));
    let text = String::from_utf8(read.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[..2], ["2500", "x1,x2,x3,x4,y1,y2"]);
    let plain_rows = String::from_utf8(plain(&kinematics(), &x, folder.path())).unwrap();
    let want: Vec<f64> = plain_rows.lines().skip(1).step_by(500).map(|row| row.split(',').nth(1).unwrap().parse().unwrap()).collect();
    let got: Vec<f64> = lines[2].split(',').map(|value| value.parse().unwrap()).collect();
    assert_eq!(got.len(), want.len());
    assert!(got.iter().zip(&want).all(|(got, want)| (got - want).abs() < 1e-6), "{got:?} against {want:?}");

    // Another input into the same folder is refused.
    let other = prior_draws(&folder.path().join("marks"), 2000);
    let output = runner(&out, &kinematics(), &other, folder.path());
    assert!(!output.status.success() && stderr(&output).contains("holds shards of another input"), "{}", stderr(&output));
}

/// A port nobody listens on (just released by the operating system).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Processes started in their own process groups, killed with their children when dropped.
struct Processes(Vec<Child>);

impl Processes {
    fn start(&mut self, command: &mut Command, log: &Path) -> u32 {
        use std::os::unix::process::CommandExt;
        let log = File::create(log).unwrap();
        let child = command.process_group(0).stdout(log.try_clone().unwrap()).stderr(log).spawn().unwrap();
        let id = child.id();
        self.0.push(child);
        id
    }
}

/// Kills the process group `id`.
fn kill_group(id: u32) {
    Command::new("kill").args(["-9", "--", &format!("-{id}")]).status().unwrap();
}

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            kill_group(child.id());
            child.wait().ok();
        }
    }
}

/// Polls `done` every 50 ms until it holds; past `deadline`, fails with `what` and the `log`.
fn wait_until(deadline: Instant, done: impl Fn() -> bool, what: &str, log: &dyn Fn() -> String) {
    while !done() {
        assert!(Instant::now() < deadline, "{what}: {}", log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_worker_killed_during_a_batch_loses_no_row() {
    let folder = tempfile::tempdir().unwrap();
    let x = prior_draws(folder.path(), 5000);
    // The scheduler picks its own port and writes its address to a file: a port chosen here could be
    // taken by another test's connection before the scheduler binds it.
    let scheduler_file = folder.path().join("scheduler.json");
    let mut cluster = Processes(Vec::new());
    cluster.start(
        Command::new("dask")
            .args(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file"])
            .arg(&scheduler_file),
        &folder.path().join("scheduler.log"),
    );
    let scheduler_log = || std::fs::read_to_string(folder.path().join("scheduler.log")).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(60);
    let written_address = || {
        let text = std::fs::read_to_string(&scheduler_file).ok()?;
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        json["address"].as_str().map(str::to_string)
    };
    wait_until(deadline, || written_address().is_some(), "the scheduler never started", &scheduler_log);
    let address = written_address().unwrap();
    let worker = || {
        let mut command = Command::new("dask");
        command.args(["worker", &address, "--nthreads", "1", "--no-dashboard"]).current_dir(folder.path());
        command
    };
    let doomed = cluster.start(&mut worker(), &folder.path().join("worker1.log"));
    cluster.start(&mut worker(), &folder.path().join("worker2.log"));
    wait_until(deadline, || scheduler_log().matches("Register worker").count() >= 2, "the cluster never started", &scheduler_log);

    // Ten chunks of half a second each, each leaving a mark when it starts.
    std::fs::create_dir(folder.path().join("marks")).unwrap();
    let slow = format!("touch marks/$$; sleep 0.5; {}", kinematics());
    let mut command = Command::new("python3");
    command.arg(runner_script()).args(["--scheduler", &address, "--chunk", "500", "--timeout", "60", "--", &slow]);
    let batch =
        command.current_dir(folder.path()).stdin(File::open(&x).unwrap()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let marks = || std::fs::read_dir(folder.path().join("marks")).unwrap().count();
    wait_until(deadline, || marks() >= 3, "the batch never started", &scheduler_log);
    // Both workers are busy (two chunks running, or one finished and its successor started).
    kill_group(doomed);
    let output = batch.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(output.stdout == plain(&kinematics(), &x, folder.path()), "rows lost or out of order");
    assert!(marks() > 10, "the killed worker's chunk ran again elsewhere ({} runs for 10 chunks)", marks());
}

#[test]
fn training_runs_its_simulations_on_the_cluster() {
    let folder = tempfile::tempdir().unwrap();
    let observation = folder.path().join("obs.csv");
    std::fs::write(&observation, "s1,s2,s3,s4,s5\n1.2,-0.45,-0.6,0.81,-0.14\n").unwrap();
    let run = folder.path().join("run");
    let simulator = format!("python3 {} --workers 2 --chunk 5000 -- python3 DATA/oscillator.py", runner_script().display());
    let output = common::oscillator_rounds(&simulator, &run, &observation);
    assert!(output.status.success(), "{}", stderr(&output));
    let manifest: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    let rounds = &manifest["training"]["sequential"]["rounds"];
    assert_eq!((rounds[1]["simulations"].as_i64(), rounds[1]["total"].as_i64()), (Some(20_000), Some(40_000)));
}
