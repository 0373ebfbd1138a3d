//! The sbibm tasks against sbibm's own reference posteriors (fetched by scripts/setup.sh), and the
//! C2ST that scores them.

mod common;

use std::path::PathBuf;

use innfer::eval::c2st::{c2st, C2stSettings};
use innfer::io::table::read_table;
use tch::{Device, Kind, Tensor};

/// A task's files as scripts/setup.sh writes them.
fn sbibm_file(task: &str, name: &str) -> PathBuf {
    let folder = std::env::var_os("INNFER_SBIBM").map(PathBuf::from).expect("INNFER_SBIBM is set by scripts/setup.sh");
    let path = folder.join(task).join(name);
    assert!(path.is_file(), "{} is missing: run scripts/setup.sh", path.display());
    path
}

fn columns(path: &PathBuf, prefix: &str) -> Tensor {
    let table = read_table(path).unwrap();
    let names: Vec<String> = table.names.iter().filter(|name| name.starts_with(prefix)).cloned().collect();
    table.select(&names, path).unwrap()
}

/// Gaussian linear has a closed-form posterior, N(y/2, 0.05 I): samples of it are indistinguishable
/// from sbibm's reference samples (C2ST ≈ 0.5), and a posterior twice too wide is told apart.
#[test]
fn closed_form_posterior_matches_the_sbibm_reference() {
    common::few_threads();
    tch::manual_seed(5);
    let observations = columns(&sbibm_file("gaussian_linear", "observations.csv"), "data_");
    let reference_path = sbibm_file("gaussian_linear", "reference.csv");
    let reference = columns(&reference_path, "parameter_");
    let obs = columns(&reference_path, "obs").view([-1]);
    let rows = 2000;
    let mut pairs = Vec::new();
    for (index, spread) in [(0, 0.05f64), (1, 0.05), (2, 0.1)] {
        let set = reference.index_select(0, &obs.eq(index as f64).nonzero().view([-1])).narrow(0, 0, rows);
        let mean = observations.get(index).unsqueeze(0) / 2.0;
        let exact = Tensor::randn([rows, 10], (Kind::Float, Device::Cpu)) * spread.sqrt() + mean;
        pairs.push((set, exact));
    }
    let accuracy = c2st(&pairs, &C2stSettings::default()).unwrap();
    assert!((accuracy[0] - 0.5).abs() < 0.05 && (accuracy[1] - 0.5).abs() < 0.05, "{accuracy:?}");
    assert!(accuracy[2] > 0.6, "{accuracy:?}");
}
