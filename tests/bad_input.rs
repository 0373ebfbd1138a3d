//! Bad inputs through the real binary: each one a non-zero exit, an `error:` line naming what is at
//! fault, and no panic or backtrace.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod common;
use common::innfer;

/// A tiny trained kinematics run and a gmm run, shared by the cases.
fn runs() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
    static RUNS: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
    RUNS.get_or_init(|| {
        let folder = tempfile::tempdir().unwrap();
        let train = |problem: &str| {
            let dir = folder.path().join(problem);
            innfer()
                .args(["train", "--problem", problem, "--model", "cinn", "--steps", "2", "--samples", "200", "--batch", "100"])
                .args(["--hidden", "8", "--blocks", "1", "--out"])
                .arg(&dir)
                .assert()
                .success();
            dir
        };
        let kinematics = train("kinematics");
        let gmm = train("gmm");
        (folder, kinematics, gmm)
    })
}

/// A file with `contents` in a fresh folder.
fn file(name: &str, contents: &str) -> (tempfile::TempDir, PathBuf) {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join(name);
    std::fs::write(&path, contents).unwrap();
    (folder, path)
}

/// Runs innfer with `args`; asserts a failure with an error line containing every `expected` text.
fn fails(args: &[&str], expected: &[&str]) {
    let output = innfer().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{args:?} succeeded:\n{stderr}");
    assert!(!stderr.contains("panicked") && !stdout.contains("panicked"), "{args:?} panicked:\n{stderr}");
    assert!(!stderr.contains("internal failure"), "{args:?} failed inside libtorch unchecked:\n{stderr}");
    assert!(!stderr.contains("stack backtrace"), "{args:?} printed a backtrace:\n{stderr}");
    let line = stderr.lines().find(|line| line.starts_with("error:")).unwrap_or_else(|| panic!("{args:?}: no error line:\n{stderr}"));
    let text = stderr.to_string();
    for want in expected {
        assert!(text.contains(want), "{args:?}: error does not mention '{want}':\n{line}\n{stderr}");
    }
}

fn sample_with(observations: &Path) -> Vec<String> {
    let run = &runs().1;
    ["sample", "--run", run.to_str().unwrap(), "--observations", observations.to_str().unwrap(), "--out", "/tmp/innfer-never-written.csv"]
        .map(str::to_owned)
        .to_vec()
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn bad_observation_files() {
    let cases: [(&str, &str, &[&str]); 10] = [
        ("empty.csv", "", &["empty.csv", "empty"]),
        ("header.csv", "y1,y2\n", &["header.csv", "no rows"]),
        ("missing.csv", "y1,q\n1,2\n", &["missing.csv", "y2"]),
        ("ragged.csv", "y1,y2\n1,2\n3\n", &["ragged.csv", "row 3"]),
        ("text.csv", "y1,y2\n1,abc\n", &["text.csv", "row 2", "'y2'", "abc"]),
        ("nan.csv", "y1,y2\nNaN,1\n", &["nan.csv", "not a finite number"]),
        ("inf.csv", "y1,y2\n1,inf\n", &["inf.csv", "not a finite number"]),
        ("neg-inf.csv", "y1,y2\n-inf,1\n", &["neg-inf.csv", "not a finite number"]),
        ("dup.csv", "y1,y1,y2\n1,2,3\n", &["dup.csv", "appears twice"]),
        ("blank-name.csv", "y1,,y2\n1,2,3\n", &["blank-name.csv", "empty column name"]),
    ];
    for (name, contents, expected) in cases {
        let (_folder, path) = file(name, contents);
        fails(&strs(&sample_with(&path)), expected);
    }
    fails(&strs(&sample_with(Path::new("/nonexistent/obs.csv"))), &["/nonexistent/obs.csv"]);
}

#[test]
fn bad_labels_for_the_mixture() {
    let run = runs().2.to_str().unwrap().to_owned();
    for (contents, expected) in [("label\n9\n", "label 9"), ("label\n1.5\n", "label 1.5"), ("label\n-1\n", "label -1")] {
        let (_folder, path) = file("labels.csv", contents);
        fails(&["sample", "--run", &run, "--observations", path.to_str().unwrap(), "--out", "/tmp/x.csv"], &["labels.csv", expected]);
    }
}

#[test]
fn bad_held_out_loss_inputs() {
    let run = runs().1.to_str().unwrap().to_owned();
    fails(&["eval", "--run", &run, "--metric", "nll"], &["--pairs-file", "x1,x2,x3,x4 and y1,y2", "innfer generate --problem kinematics"]);
    let (_folder, wrong) = file("wrong.csv", "a,b\n1,2\n");
    fails(&["eval", "--run", &run, "--metric", "nll", "--pairs-file", wrong.to_str().unwrap()], &["missing column 'x1'"]);
    let (_folder, one) = file("one.csv", "x1,x2,x3,x4,y1,y2\n0,0,0,0,1,1\n");
    fails(&["eval", "--run", &run, "--metric", "nll", "--pairs-file", one.to_str().unwrap()], &["at least two pairs, not 1"]);
    fails(&["eval", "--run", &run, "--pairs-file", one.to_str().unwrap()], &["--pairs-file is for --metric nll"]);
}

#[test]
fn bad_values_on_the_command_line() {
    let run = runs().1.to_str().unwrap().to_owned();
    let out = "/tmp/innfer-never-written.csv";
    fails(&["sample", "--run", &run, "--y", "1.5", "--out", out], &["--y has 1 values", "2"]);
    fails(&["sample", "--run", &run, "--y", "1.5,abc", "--out", out], &["--y", "'abc'"]);
    fails(&["sample", "--run", &run, "--y", "1.5,nan", "--out", out], &["--y", "'nan'"]);
    fails(&["sample", "--run", &run, "--y", "1.5,0", "--n", "0", "--out", out], &["--n", "'0'"]);
    fails(&["sample", "--run", &run, "--y", "1.5,0", "--n", "-5", "--out", out], &["-5"]);
    fails(&["sample", "--run", &run, "--out", out], &["--y", "--observations"]);
    fails(&["train", "--steps", "0"], &["--steps", "0"]);
    fails(&["train", "--batch", "0"], &["--batch", "0"]);
    fails(&["train", "--batch", "-1"], &["-1"]);
    fails(&["train", "--problem", "pendulum"], &["unknown problem 'pendulum'"]);
    fails(&["train", "--model", "gan"], &["unknown model 'gan'"]);
    fails(&["eval", "--run", &run, "--targets", "0"], &["--targets", "0"]);
    fails(&["train", "--budget", "soon"], &["--budget", "soon"]);
    fails(&["train", "--problem", "gmm", "--labels", "few"], &["unknown gmm label map 'few'"]);
    fails(&["train", "--problem", "kinematics", "--labels", "all"], &["has no option 'labels'"]);
    fails(&["train", "--clamp=-1", "--steps", "1"], &["clamp", "-1"]);
    fails(&["train", "--clamp", "1e300", "--steps", "1"], &["--clamp", "from 0.01 to 50"]);
    fails(&["train", "--samples", "10", "--batch", "100", "--steps", "1", "--out", "/tmp/innfer-tiny-never"], &["smaller than one batch"]);
    fails(&["train", "--kernel-widths", "0.2,-1", "--steps", "1"], &["kernel widths"]);
    fails(&["train", "--lr", "abc"], &["--lr", "abc"]);
    fails(&["train", "--adam-betas", "0.9"], &["--adam-betas", "two numbers"]);
    fails(&["train", "--adam-betas", "0.9,1.5", "--steps", "1"], &["--adam-betas must both be at least 0 and below 1"]);
    fails(&["train", "--weight-decay=-1", "--steps", "1"], &["--weight-decay must be a finite number of at least 0"]);
    fails(&["train", "--grad-clip=-1", "--steps", "1"], &["--grad-clip must be a finite number of at least 0"]);
    fails(&["train", "--grad-clamp", "0", "--steps", "1"], &["--grad-clamp must be a positive number"]);
    fails(&["train", "--init-scale", "nan", "--steps", "1"], &["--init-scale must be a positive number"]);
    fails(&["train", "--noise-anneal", "0.5", "--steps", "1"], &["--noise-anneal must be a number of at least 1, not 0.5"]);
    fails(&["train", "--model", "cinn", "--noise-anneal", "2", "--steps", "1"], &["--noise-anneal is for the paper's INN"]);
    for lr_end in ["0", "1.5", "nan"] {
        fails(&["train", "--lr-end", lr_end, "--steps", "1"], &["--lr-end must be above 0 and at most 1"]);
    }
    fails(&["train", "--bins", "12", "--steps", "1"], &["--bins is for spline couplings (--coupling spline)"]);
    fails(&["train", "--coupling", "spline", "--bins", "1", "--steps", "1"], &["--bins", "1 is not in 2..=64"]);
    fails(&["train", "--coupling", "splines", "--steps", "1"], &["unknown coupling 'splines'", "expected affine or glow or spline"]);
    fails(&["train", "--mixing", "lu", "--steps", "1"], &["unknown mixing 'lu'", "expected permute or linear"]);
    fails(&["sample", "--run", &run, "--y", "1.5,0", "--n", "1e12", "--out", out], &["GB of CSV", "lower --n"]);
    fails(&["sample", "--run", &run, "--y", "1.5,0", "--out", "/nonexistent/post.csv"], &["/nonexistent", "no such folder"]);
    fails(&["abc", "--y", "1,0", "--draws", "10", "--out", "/nonexistent/abc.csv"], &["/nonexistent", "no such folder"]);
    fails(&["generate", "--n", "10", "--out", "/nonexistent/pairs.csv"], &["/nonexistent", "no such folder"]);
    for epochs in ["0", "-1", "nan", "inf"] {
        fails(&["train", &format!("--epochs={epochs}")], &["--epochs"]);
    }
    fails(&["train", "--w-y=-1", "--steps", "1"], &["--w-y", "-1"]);
    fails(&["train", "--w-z", "nan", "--steps", "1"], &["--w-z", "NaN"]);
    fails(&["train", "--y-noise", "inf", "--steps", "1"], &["--y-noise", "inf"]);
    fails(&["train", "--budget", "0s"], &["--budget", "longer than zero"]);
    fails(&["train", "--val", "0.1", "--steps", "1"], &["--val", "--simulations"]);
    let runs = tempfile::tempdir().unwrap();
    let new_run = |name: &str| runs.path().join(name).to_str().unwrap().to_owned();
    fails(
        &["train", "--patience", "3", "--steps", "2", "--samples", "200", "--batch", "100", "--out", &new_run("patience")],
        &["--patience", "holds no rows out"],
    );
    // The MMD of a batch of 2·10^6 rows needs 2·10^6 × 2·10^6 distances: 16 TB (narrow subnets, so
    // that this is the first allocation to fail).
    let huge = ["--model", "inn", "--losses", "paper", "--hidden", "16", "--batch", "2000000", "--samples", "2000000", "--steps", "1"];
    fails(&[&["train", "--out", &new_run("oom")][..], &huge].concat(), &["out of memory", "a batch of 2000000 rows", "lower --batch"]);
    fails(&["abc", "--y", "1,0", "--keep", "1e9", "--draws", "1e10", "--out", out], &["--keep"]);
    fails(&["abc", "--y", "1,0", "--chunk", "1e9", "--draws", "10", "--keep", "1", "--out", out], &["--chunk"]);
    fails(&["abc", "--y", "1,0", "--keep", "0", "--out", out], &["--keep", "'0'"]);
    fails(&["abc", "--y", "1,0", "--eps=-1", "--draws", "10", "--out", out], &["--eps", "-1"]);
    fails(&["abc", "--y", "1,0", "--draws", "0", "--out", out], &["--draws", "'0'"]);
    fails(&["abc", "--y", "1,0", "--keep", "100", "--draws", "10", "--out", out], &["--keep", "between 1 and the number of draws"]);
}

#[test]
fn bad_run_folders_and_checkpoints() {
    let out = "/tmp/innfer-never-written.csv";
    let empty = tempfile::tempdir().unwrap();
    let empty_path = empty.path().to_str().unwrap();
    fails(&["sample", "--run", "/nonexistent/run", "--y", "1,0", "--out", out], &["/nonexistent/run", "no such run folder"]);
    fails(&["sample", "--run", empty_path, "--y", "1,0", "--out", out], &["not a run folder"]);
    fails(&["eval", "--run", empty_path], &["not a run folder"]);
    fails(&["plot", "--run", empty_path], &["gmm-forward.csv"]);

    // A copy of a good run, damaged in different ways.
    let damaged = |damage: &dyn Fn(&Path)| {
        let folder = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(&runs().1).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), folder.path().join(entry.file_name())).unwrap();
        }
        damage(folder.path());
        folder
    };
    let weights = |dir: &Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("weights-"))
            .unwrap()
    };
    let truncated = damaged(&|dir| {
        let path = weights(dir);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 3]).unwrap();
    });
    fails(&["sample", "--run", truncated.path().to_str().unwrap(), "--y", "1,0", "--out", out], &["truncated"]);
    let other_version = damaged(&|dir| {
        let manifest = dir.join("manifest.json");
        let text = std::fs::read_to_string(&manifest)
            .unwrap()
            .replace("\"format\": 1", "\"format\": 2")
            .replace("\"innfer_version\": \"", "\"innfer_version\": \"9.");
        std::fs::write(&manifest, text).unwrap();
    });
    fails(&["sample", "--run", other_version.path().to_str().unwrap(), "--y", "1,0", "--out", out], &["written by innfer 9.", "format 2"]);
    let no_weights = damaged(&|dir| std::fs::remove_file(weights(dir)).unwrap());
    fails(&["sample", "--run", no_weights.path().to_str().unwrap(), "--y", "1,0", "--out", out], &["missing weights"]);
}

#[test]
fn unwritable_outputs() {
    let run = runs().1.to_str().unwrap().to_owned();
    fails(&["sample", "--run", &run, "--y", "1,0", "--n", "3", "--out", "/nonexistent-folder/post.csv"], &["/nonexistent-folder"]);
    let folder = tempfile::tempdir().unwrap();
    let as_dir = folder.path().to_str().unwrap();
    fails(&["sample", "--run", &run, "--y", "1,0", "--n", "3", "--out", as_dir], &[as_dir]);
    fails(&["abc", "--y", "1,0", "--keep", "5", "--draws", "100", "--out", "/nonexistent-folder/abc.csv"], &["/nonexistent-folder"]);
}

/// `train --data` with data in `name` (x columns a, b; y column y).
fn train_on(path: &Path, extra: &[&str]) -> Vec<String> {
    let out = path.with_file_name("never-a-run");
    let mut args: Vec<String> =
        ["train", "--data", path.to_str().unwrap(), "--x", "a,b", "--y", "y", "--steps", "1", "--batch", "2"].map(str::to_owned).to_vec();
    args.extend(extra.iter().map(|arg| arg.to_string()));
    args.extend(["--out".to_string(), out.to_str().unwrap().to_string()]);
    args
}

#[test]
fn bad_training_data() {
    let good = "a,b,y\n1,2,3\n4,5,6\n7,8,9\n1,1,1\n";
    let cases: [(&str, &str, &[&str]); 8] = [
        ("missing.csv", "a,c,y\n1,2,3\n", &["no column 'b'", "a, c, y"]),
        ("text.csv", "a,b,y\n1,2,3\n4,five,6\n", &["text.csv", "row 3, column 'b': 'five' is not a number"]),
        ("nan.csv", "a,b,y\n1,2,3\n4,5,NaN\n", &["nan.csv", "row 3, column 'y'", "not a finite number"]),
        ("inf.csv", "a,b,y\n1,-inf,3\n", &["inf.csv", "row 2, column 'b'", "not a finite number"]),
        ("dup.csv", "a,b,y,a\n1,2,3,4\n", &["dup.csv", "column 'a' appears twice"]),
        ("ragged.csv", "a,b,y\n1,2,3\n4,5\n", &["ragged.csv", "row 3 has 2 cells"]),
        ("empty.csv", "", &["empty.csv", "empty"]),
        ("header.csv", "a,b,y\n", &["no rows"]),
    ];
    for (name, contents, expected) in cases {
        let (_folder, path) = file(name, contents);
        fails(&strs(&train_on(&path, &[])), expected);
    }
    let (_folder, path) = file("few.csv", good);
    let few = ["train", "--data", path.to_str().unwrap(), "--x", "a,b", "--y", "y", "--steps", "1", "--batch", "100"];
    fails(&few, &["smaller than one batch (100)"]);
    fails(&strs(&train_on(&path, &["--val", "1.5"])), &["--val", "1.5"]);
    fails(&strs(&train_on(&path, &["--average", "1"])), &["--average", "below 1"]);
    fails(&strs(&train_on(&path, &["--model", "inn", "--regression", "true"])), &["--regression", "cINN"]);
    fails(&strs(&train_on(&path, &["--model", "inn", "--bounded", "true"])), &["--bounded", "cINN"]);
    fails(&strs(&train_on(&path, &["--bounded", "maybe"])), &["--bounded", "maybe"]);
    fails(&strs(&train_on(&path, &["--fresh"])), &["--fresh"]);
    let both = ["train", "--data", path.to_str().unwrap(), "--x", "a,b", "--y", "b,y", "--steps", "1"];
    fails(&both, &["'b'", "both --x and --y"]);
    fails(&["train", "--data", path.to_str().unwrap(), "--x", "a..q", "--y", "y"], &["--x", "no column 'q'"]);
    fails(&["train", "--data", path.to_str().unwrap(), "--x", "a"], &["--y"]);
    fails(&["train", "--data", "/nonexistent/pairs.csv", "--x", "a", "--y", "y"], &["/nonexistent/pairs.csv"]);
    let (_folder, text_file) = file("pairs.txt", good);
    fails(&["train", "--data", text_file.to_str().unwrap(), "--x", "a", "--y", "y"], &["pairs.txt", ".csv, .parquet"]);
    let (_folder, not_parquet) = file("pairs.parquet", good);
    fails(&strs(&train_on(&not_parquet, &[])), &["pairs.parquet", "not a readable Parquet file"]);
    let pyarrow = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pyarrow-shards");
    fails(&["train", "--data", pyarrow.to_str().unwrap(), "--x", "a,note", "--y", "y", "--steps", "1"], &["column 'note' holds Utf8"]);
}

#[test]
fn bad_streamed_data() {
    let folder = tempfile::tempdir().unwrap();
    let shards = folder.path().join("shards");
    std::fs::create_dir(&shards).unwrap();
    let rows = "1,2,3\n4,5,6\n7,8,9\n1,1,1\n";
    std::fs::write(shards.join("part-1.csv"), format!("a,b,y\n{rows}")).unwrap();
    let one = shards.join("part-1.csv");
    fails(&strs(&train_on(&one, &["--stream"])), &["--stream holds out whole files", "1 file", "--val 0"]);
    fails(&strs(&train_on(&one, &["--stream", "--val", "0", "--buffer-rows", "1"])), &["--buffer-rows 1 is smaller than one batch (2)"]);
    fails(&strs(&train_on(&one, &["--buffer-rows", "10"])), &["--buffer-rows", "--stream"]);
    fails(&strs(&train_on(&one, &["--stream", "--rounds", "2", "--observation", "obs.csv"])), &["--stream", "--rounds"]);
    std::fs::write(shards.join("part-2.csv"), format!("a,c,y\n{rows}")).unwrap();
    fails(&strs(&train_on(&shards, &["--stream"])), &["part-2.csv", "missing column 'b'", "a, c, y"]);
}

#[test]
fn misbehaving_simulators() {
    let folder = tempfile::tempdir().unwrap();
    let pairs = folder.path().join("pairs.csv");
    let rows: String = (0..300).map(|i| format!("{},{},{}\n", i % 7, i % 5, i % 3)).collect();
    std::fs::write(&pairs, format!("a,b,y\n{rows}")).unwrap();
    let run = folder.path().join("run");
    innfer()
        .args(["train", "--data", pairs.to_str().unwrap(), "--x", "a,b", "--y", "y", "--model", "cinn", "--steps", "2"])
        .args(["--batch", "100", "--hidden", "8", "--blocks", "1", "--out", run.to_str().unwrap()])
        .assert()
        .success();
    let run = run.to_str().unwrap();
    let out = "/tmp/innfer-never-written.csv";
    fails(&["eval", "--run", run, "--targets", "2"], &["no forward process", "--simulator"]);
    fails(&["sample", "--run", run, "--y", "1", "--resimulate", "--out", out], &["--simulator"]);
    fails(&["eval", "--run", run, "--simulator", "echo broken >&2; exit 4"], &["simulator batch 0 (rows 1–", "broken", "exit status: 4"]);
    fails(&["eval", "--run", run, "--simulator", "cat >/dev/null; echo y; echo 1"], &["simulator batch 0", "wrote 1 rows"]);
    fails(
        &["abc", "--run", run, "--y", "1", "--simulator", "cat >/dev/null; echo q; seq 10", "--keep", "5", "--draws", "10", "--out", out],
        &["missing column 'y'"],
    );
    fails(&["abc", "--y", "1,0", "--simulator", "cat", "--out", out], &["--simulator needs --run"]);
    let kinematics = runs().1.to_str().unwrap().to_owned();
    fails(&["eval", "--run", &kinematics, "--simulator", "cat"], &["--simulator is for runs trained on data"]);
}

#[test]
fn observation_files_name_the_columns_they_ignore() {
    let (_folder, path) = file("extra.csv", "obs,y1,note,y2\n0,1.5,7,0\n");
    let output = innfer().args(strs(&sample_with(&path))).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("extra.csv: ignoring column(s) note (the observations are y1, y2)"), "{stderr}");
}

/// `check` on pairs and draws files with `truth` and `posterior` contents.
fn check_files(truth: &str, posterior: &str, expected: &[&str]) {
    let (_truth_folder, truth_path) = file("pairs.csv", truth);
    let (_posterior_folder, posterior_path) = file("post.csv", posterior);
    let args = [
        "check",
        "--truth",
        truth_path.to_str().unwrap(),
        "--posterior",
        posterior_path.to_str().unwrap(),
        "--out",
        "/tmp/innfer-never-written",
    ];
    fails(&args, expected);
}

#[test]
fn bad_calibration_inputs() {
    let truth = "a,b,y\n0.1,0.2,1\n0.3,0.4,2\n";
    check_files(truth, "obs,a,c\n0,1,2\n1,1,2\n", &["pairs.csv", "missing column 'c'"]);
    check_files(truth, "a,b\n1,2\n", &["post.csv", "missing column 'obs'"]);
    check_files(truth, "obs,a,b\n0,1,2\n0,1,2\n1,1,2\n", &["post.csv", "obs 1 has 1 draws, obs 0 has 2"]);
    check_files("a,b\n1,2\n1,2\n1,2\n", "obs,a,b\n0,1,2\n2,1,2\n", &["post.csv", "obs 1 has 0 draws"]);
    check_files(truth, "obs,a,b\n0,1,2\n1,1,2\n2,1,2\n", &["pairs.csv", "only 2 rows", "obs 2"]);
    check_files(truth, "obs,a,b\n0,1,2\n1.5,1,2\n", &["post.csv", "row 3, column 'obs'", "1.5"]);
    check_files(truth, "obs,a,b\n0,1,NaN\n1,1,2\n", &["post.csv", "row 2, column 'b'", "not a finite number"]);
    check_files("a,b\n0.1,inf\n", "obs,a,b\n0,1,2\n", &["pairs.csv", "row 2, column 'b'"]);
    check_files(truth, "obs,a,b\n0,1,2\n1,1,2\n", &["at least 10 pairs, not 2"]);

    let kinematics = runs().1.to_str().unwrap().to_string();
    fails(&["check", "--run", &kinematics, "--pairs", "0"], &["--pairs", "'0' is not a positive whole number"]);
    fails(&["check", "--run", &kinematics, "--pairs", "5"], &["at least 10 pairs, not 5"]);
    fails(&["check", "--run", &kinematics, "--pairs", "20", "--draws", "1"], &["at least two posterior draws per pair", "not 1"]);
    let (_folder, pairs) = file("pairs.csv", "x1,x2,x3,y1,y2\n0,0,0,1,1\n");
    fails(&["check", "--run", &kinematics, "--pairs-file", pairs.to_str().unwrap()], &["pairs.csv", "missing column 'x4'"]);
    fails(&["check"], &["--run", "--truth"]);
}

#[test]
fn a_task_whose_sbibm_files_are_missing() {
    let folder = tempfile::tempdir().unwrap();
    let output = innfer()
        .env("INNFER_SBIBM", folder.path())
        .args(["generate", "--problem", "slcp_distractors", "--n", "10", "--out"])
        .arg(folder.path().join("pairs.csv"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && !stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("error: slcp_distractors needs sbibm's distractor distribution") && stderr.contains("scripts/setup.sh"),
        "{stderr}"
    );
}

#[test]
fn bad_ensembles() {
    fails(&["train", "--model", "inn", "--ensemble", "2", "--steps", "1"], &["--ensemble is for the cINN"]);
    fails(&["train", "--model", "cinn", "--ensemble", "0"], &["--ensemble", "0 is not in 1..=32"]);
    fails(&["train", "--model", "cinn", "--ensemble", "two"], &["--ensemble", "invalid digit"]);
}

#[test]
fn bad_summary_networks() {
    fails(&["train", "--model", "inn", "--summary", "mlp", "--steps", "1"], &["--summary is for the cINN"]);
    fails(&["train", "--model", "cinn", "--summary", "cnn"], &["unknown summary network 'cnn'", "mlp", "deepset:K"]);
    fails(&["train", "--model", "cinn", "--summary", "deepset:x"], &["deepset:K needs K"]);
    fails(&["train", "--model", "cinn", "--summary-width", "8"], &["--summary"]);
    fails(&["train", "--model", "cinn", "--summary", "none", "--summary-width", "8"], &["--summary none asks for none"]);
    let runs = tempfile::tempdir().unwrap();
    let new_run = |name: &str| runs.path().join(name).to_str().unwrap().to_owned();
    let summary_of = |problem: &str, summary: &str| {
        let args = ["train", "--problem", problem, "--model", "cinn", "--summary", summary, "--steps", "1", "--out", &new_run(problem)];
        args.map(str::to_owned)
    };
    fails(&strs(&summary_of("two_moons", "deepset:3")), &["deepset:3", "not a whole number of elements of 3"]);
    let (_folder, one_column) = file("pairs.csv", "a,b,c\n1,2,3\n4,5,6\n");
    let data = one_column.to_str().unwrap();
    fails(
        &[
            "train",
            "--data",
            data,
            "--x",
            "a,b",
            "--y",
            "c",
            "--model",
            "cinn",
            "--summary",
            "mlp",
            "--batch",
            "1",
            "--out",
            &new_run("one"),
        ],
        &["at least two columns", "y has 1"],
    );
    assert!(!runs.path().join("two_moons").exists() && !runs.path().join("one").exists(), "a refused run left its folder");
}
