//! The invertible network's defining properties: exact inverse, correct log-determinant, checkpoints.

mod common;

use common::{few_threads, max_abs, randomise, serial, small_block};
use innfer::model::checkpoint::{self, ProblemInfo, TrainingSummary};
use innfer::model::{BlockConfig, CouplingKind, Dims, MixingKind, Model, ModelSpec};
use tch::{Device, Kind, Tensor};

fn inn(width: i64, block: BlockConfig, seed: u64) -> Model {
    let dims = Dims::new(width / 2, width / 2, width - width / 2, width).unwrap();
    Model::new(ModelSpec::inn(dims, 4, block, seed), Device::Cpu).unwrap()
}

fn cinn(width: i64, block: BlockConfig) -> Model {
    Model::new(ModelSpec::cinn(width, 3, 4, block, 7).unwrap(), Device::Cpu).unwrap()
}

/// Every coupling form, with permutations between blocks, and the GLOW form with learned linear
/// mixings as well.
fn every_block() -> Vec<BlockConfig> {
    let mut blocks: Vec<BlockConfig> = [CouplingKind::Affine, CouplingKind::Glow, CouplingKind::Spline].map(small_block).into();
    blocks.push(BlockConfig { mixing: MixingKind::Linear, ..small_block(CouplingKind::Glow) });
    blocks
}

#[test]
fn inverse_of_forward_is_identity() {
    let _serial = serial();
    few_threads();
    tch::manual_seed(1);
    for block in every_block() {
        for width in [2, 4, 6, 16] {
            for conditional in [false, true] {
                let model = if conditional { cinn(width, block) } else { inn(width, block, 3) };
                randomise(&model, 0.1);
                let u = Tensor::randn([256, width], (Kind::Float, Device::Cpu));
                let condition = conditional.then(|| Tensor::randn([256, 3], (Kind::Float, Device::Cpu)));
                let (v, log_det) = model.network().forward(&u, condition.as_ref());
                assert!(max_abs(&(&v - &u)) > 0.1, "randomised weights must move the input");
                assert!(max_abs(&log_det) > 0.01, "randomised weights must scale");
                let (back, _) = model.network().inverse(&v, condition.as_ref());
                let error = max_abs(&(back - &u));
                assert!(error <= 1e-5, "{block:?} width {width} conditional {conditional}: error {error}");
            }
        }
    }
}

/// log|det| of the Jacobian of `f` at the row `u`, by autograd, one output at a time.
fn autograd_log_det(u: &Tensor, f: impl Fn(&Tensor) -> Tensor) -> f64 {
    let width = u.size()[1];
    let input = u.detach().set_requires_grad(true);
    let output = f(&input);
    let rows: Vec<Tensor> = (0..width)
        .map(|i| {
            let grad = Tensor::run_backward(&[output.get(0).get(i)], &[&input], true, false);
            grad[0].get(0)
        })
        .collect();
    let jacobian = Tensor::stack(&rows, 0);
    let (_, log_abs_det) = jacobian.slogdet();
    log_abs_det.double_value(&[])
}

#[test]
fn log_determinant_matches_autograd() {
    let _serial = serial();
    few_threads();
    tch::manual_seed(2);
    for block in every_block() {
        let coupling = block.coupling;
        for width in [4, 6] {
            for conditional in [false, true] {
                let mut model = if conditional { cinn(width, block) } else { inn(width, block, 5) };
                model.set_kind(Kind::Double);
                randomise(&model, 0.3);
                let condition = conditional.then(|| Tensor::randn([1, 3], (Kind::Double, Device::Cpu)));
                let mut largest: f64 = 0.0;
                for _ in 0..3 {
                    let u = Tensor::randn([1, width], (Kind::Double, Device::Cpu));
                    let (v, log_det) = model.network().forward(&u, condition.as_ref());
                    let expected = autograd_log_det(&u, |input| model.network().forward(input, condition.as_ref()).0);
                    let got = log_det.double_value(&[0]);
                    assert!((got - expected).abs() < 1e-6, "{block:?} {width}: {got} vs autograd {expected}");
                    largest = largest.max(expected.abs());
                    let (_, inverse_log_det) = model.network().inverse(&v, condition.as_ref());
                    let sum = inverse_log_det.double_value(&[0]) + got;
                    // The spline's inverse solves a quadratic per value, badly conditioned for the
                    // extreme bins of random weights: there only to about 1e-5.
                    let tolerance = if coupling == CouplingKind::Spline { 1e-4 } else { 1e-9 };
                    assert!(sum.abs() < tolerance, "log|det J⁻¹| must be −log|det J| ({sum})");
                }
                assert!(largest > 1e-2, "{block:?} {width}: the Jacobian must not be volume-preserving ({largest})");
            }
        }
    }
}

fn problem() -> ProblemInfo {
    ProblemInfo {
        name: "test".into(),
        options: Default::default(),
        x_names: vec!["x1".into(), "x2".into(), "x3".into()],
        y_names: vec!["y1".into(), "y2".into(), "y3".into()],
    }
}

#[test]
fn checkpoint_round_trip_is_bit_identical() {
    let _serial = serial();
    few_threads();
    tch::manual_seed(3);
    let folder = tempfile::tempdir().unwrap();
    // Learned mixings: their variables must travel with the checkpoint too.
    let model = inn(6, BlockConfig { mixing: MixingKind::Linear, ..small_block(CouplingKind::Glow) }, 11);
    randomise(&model, 0.3);
    checkpoint::save(folder.path(), &model, &problem(), &TrainingSummary::default(), None).unwrap();
    // A second save replaces the first and leaves one weights file.
    checkpoint::save(folder.path(), &model, &problem(), &TrainingSummary::default(), None).unwrap();
    let weights =
        std::fs::read_dir(folder.path()).unwrap().filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".safetensors"));
    assert_eq!(weights.count(), 1);

    let loaded = checkpoint::load(folder.path(), Device::Cpu).unwrap();
    assert_eq!(loaded.model.spec, model.spec);
    assert_eq!(loaded.problem, problem());
    let u = Tensor::randn([64, 6], (Kind::Float, Device::Cpu));
    assert!(loaded.model.network().forward(&u, None).0.equal(&model.network().forward(&u, None).0));
    assert!(loaded.model.network().inverse(&u, None).0.equal(&model.network().inverse(&u, None).0));
}

fn saved(model: &Model) -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    checkpoint::save(folder.path(), model, &problem(), &TrainingSummary::default(), None).unwrap();
    folder
}

fn weights_path(folder: &tempfile::TempDir) -> std::path::PathBuf {
    checkpoint::read_manifest(folder.path()).map(|m| folder.path().join(m.weights.file)).unwrap()
}

fn load_error(folder: &tempfile::TempDir) -> String {
    match checkpoint::load(folder.path(), Device::Cpu) {
        Ok(_) => panic!("a damaged checkpoint must not load"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn damaged_checkpoints_give_errors() {
    let _serial = serial();
    few_threads();
    let model = inn(6, small_block(CouplingKind::Glow), 1);

    let truncated = saved(&model);
    let path = weights_path(&truncated);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    assert!(load_error(&truncated).contains("truncated"));

    let corrupted = saved(&model);
    let path = weights_path(&corrupted);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
    assert!(load_error(&corrupted).contains("corrupted"));

    // Weights of a different architecture under a manifest that claims another.
    let mismatched = saved(&model);
    let other = saved(&inn(8, small_block(CouplingKind::Glow), 1));
    std::fs::copy(weights_path(&other), weights_path(&mismatched)).unwrap();
    let manifest_path = mismatched.path().join(checkpoint::MANIFEST_FILE);
    let mut manifest = checkpoint::read_manifest(mismatched.path()).unwrap();
    let other_manifest = checkpoint::read_manifest(other.path()).unwrap();
    manifest.weights.bytes = other_manifest.weights.bytes;
    manifest.weights.crc32 = other_manifest.weights.crc32;
    std::fs::write(&manifest_path, serde_json::to_string(&manifest).unwrap()).unwrap();
    assert!(load_error(&mismatched).contains("do not fit"));

    let future = saved(&model);
    let manifest_path = future.path().join(checkpoint::MANIFEST_FILE);
    let text = std::fs::read_to_string(&manifest_path).unwrap().replace("\"format\": 1", "\"format\": 99");
    std::fs::write(&manifest_path, text).unwrap();
    assert!(load_error(&future).contains("format 99"));

    let garbage = saved(&model);
    std::fs::write(garbage.path().join(checkpoint::MANIFEST_FILE), "{ not json").unwrap();
    assert!(load_error(&garbage).contains("not valid JSON"));

    let empty = tempfile::tempdir().unwrap();
    assert!(load_error(&empty).contains("not a run folder"));
}
