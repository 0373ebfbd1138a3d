//! Property tests (bounded fuzzing) of everything that parses user input: CSV tables, observations,
//! manifests, counts and durations. None may panic; what they accept must be what they claim.

use innfer::io::observations::parse_observation;
use innfer::io::parse_count;
use innfer::io::table::read_table;
use innfer::model::checkpoint::read_manifest;
use innfer::model::{BlockConfig, Bounds, Dims, LinearRegression, Model, ModelSpec, OutputNoise};
use innfer::sample::posterior;
use proptest::prelude::*;
use tch::{Device, Kind, Tensor};

fn config() -> ProptestConfig {
    ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn csv_reader_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("fuzz.csv");
        std::fs::write(&path, &bytes).unwrap();
        if let Ok(table) = read_table(&path) {
            prop_assert!(!table.names.is_empty());
            prop_assert_eq!(table.values.len() % table.names.len(), 0);
            prop_assert!(table.values.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn csv_reader_never_panics_on_csv_like_text(text in "[a-z0-9,.\\-+eE \n]{0,300}") {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("fuzz.csv");
        std::fs::write(&path, &text).unwrap();
        match read_table(&path) {
            Ok(table) => prop_assert!(table.rows() >= 1),
            Err(error) => prop_assert!(error.to_string().contains("fuzz.csv")),
        }
    }

    #[test]
    fn observation_parser_accepts_exactly_finite_lists(text in "[0-9.,eE+\\-a-z ]{0,40}") {
        let names = vec!["y1".to_string(), "y2".to_string()];
        if let Ok(tensor) = parse_observation(&text, &names) {
            prop_assert_eq!(tensor.size(), vec![1, 2]);
            let values = Vec::<f32>::try_from(tensor.view([-1])).unwrap();
            prop_assert!(values.iter().all(|v| v.is_finite()));
        }
    }

    #[test]
    fn manifest_reader_never_panics(text in "\\PC{0,300}") {
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join("manifest.json"), &text).unwrap();
        prop_assert!(read_manifest(folder.path()).is_err());
    }

    #[test]
    fn manifest_reader_never_panics_on_json_shapes(format in 0u32..3, version in "[0-9.]{0,8}", body in "[{}\\[\\]\":,a-z0-9 ]{0,120}") {
        let folder = tempfile::tempdir().unwrap();
        let text = format!("{{\"format\": {format}, \"innfer_version\": \"{version}\", \"model\": {body}}}");
        std::fs::write(folder.path().join("manifest.json"), &text).unwrap();
        prop_assert!(read_manifest(folder.path()).is_err());
    }

    #[test]
    fn counts_are_positive_whole_numbers(text in "[0-9eE._+\\-]{0,12}") {
        if let Ok(count) = parse_count(&text) {
            prop_assert!(count >= 1);
        }
    }

    #[test]
    fn budgets_parse_or_fail_cleanly(text in "[0-9a-z .]{0,16}") {
        let _ = humantime::parse_duration(&text);
    }
}

#[test]
fn counts_and_observations_accept_the_documented_forms() {
    assert_eq!(parse_count("1e8"), Ok(100_000_000));
    assert_eq!(parse_count("4_000"), Ok(4000));
    assert!(parse_count("0").is_err() && parse_count("1.5").is_err() && parse_count("-3").is_err() && parse_count("nan").is_err());
    let names = vec!["y1".to_string(), "y2".to_string()];
    assert!(parse_observation("1.5, -0.25", &names).is_ok());
    assert!(parse_observation("1.5,inf", &names).is_err());
}

/// A valid model spec of random widths and parts, as JSON.
fn valid_spec(kind: bool, (x, y, z, pad): (i64, i64, i64, i64), parts: (bool, bool), seed: u64) -> serde_json::Value {
    let block = BlockConfig::glow(4, 1);
    let mut spec = if kind {
        ModelSpec::cinn(x + 1, y, 2, block, seed).unwrap()
    } else {
        ModelSpec::inn(Dims::new(x, y, z, (x.max(y + z) + pad).max(2)).unwrap(), 2, block, seed)
    };
    let (with_noise, with_extras) = parts;
    if kind && with_extras {
        spec.x_bounds = Some(Bounds::uniform(spec.dims.x as usize, -2.0, 2.0).unwrap());
        let (xs, ys) = (Tensor::randn([50, spec.dims.x], (Kind::Double, Device::Cpu)), Tensor::randn([50, y], (Kind::Double, Device::Cpu)));
        spec.x_regression = Some(LinearRegression::fit(&xs, &ys).unwrap());
    }
    if !kind && with_noise {
        spec.output_noise = Some(OutputNoise { y: 0.1, pad: 0.05 });
    }
    serde_json::to_value(spec).unwrap()
}

/// A change to one field of a spec: where (a JSON pointer) and the new value.
fn mutation() -> impl Strategy<Value = (&'static str, serde_json::Value)> {
    use serde_json::json;
    let number = prop_oneof![Just(json!(0.0)), Just(json!(-1.0)), Just(json!(1e300)), Just(json!(1e-300)), Just(json!(3))];
    let place = prop_oneof![
        Just("/x_scale/std/0"),
        Just("/x_scale/mean/0"),
        Just("/y_scale/std/0"),
        Just("/x_scale/std"),
        Just("/network/block/clamp"),
        Just("/network/block/hidden"),
        Just("/network/permutations/0/0"),
        Just("/network/permutations/1"),
        Just("/network/width"),
        Just("/network/condition"),
        Just("/dims/z"),
        Just("/dims/total"),
        Just("/output_noise"),
        Just("/output_noise/y"),
        Just("/x_bounds"),
        Just("/x_bounds/columns/0"),
        Just("/x_regression/residual_std/0"),
        Just("/x_regression/coefficients/0"),
    ];
    let value = prop_oneof![
        number,
        Just(json!([])),
        Just(json!([1.0, -1.0])),
        Just(json!([0, 0])),
        Just(json!({"y": -1.0, "pad": 0.0})),
        Just(json!({"columns": [[1.0, -1.0]]})),
    ];
    (place, value)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    /// A spec that is refused says so with an error; one that is accepted builds a model whose
    /// inverse undoes its forward pass and whose posterior samples are finite. Nothing panics,
    /// whatever field of a valid spec is changed to what.
    #[test]
    fn model_specs_are_refused_or_work(
        kind in any::<bool>(),
        widths in (1i64..4, 1i64..4, 0i64..3, 0i64..3),
        parts in (any::<bool>(), any::<bool>()),
        changes in proptest::collection::vec(mutation(), 0..3),
    ) {
        let mut json = valid_spec(kind, widths, parts, 1);
        for (place, value) in &changes {
            if let Some(field) = json.pointer_mut(place) {
                *field = value.clone();
            }
        }
        let Ok(spec) = serde_json::from_value::<ModelSpec>(json) else { return Ok(()) };
        if changes.is_empty() {
            prop_assert!(spec.validate().is_ok(), "{:?}", spec.validate());
        }
        if spec.validate().is_err() {
            return Ok(());
        }
        let model = Model::new(spec, Device::Cpu).unwrap();
        let dims = model.spec.dims;
        let y = Tensor::randn([3, dims.y], (Kind::Float, Device::Cpu));
        // A bounded model may find no samples inside its box: an error that says so is an answer.
        if let Ok((samples, _)) = posterior(&model, &y, 4) {
            prop_assert_eq!(samples.size(), vec![12, dims.x]);
            prop_assert!(bool::try_from(samples.isfinite().all()).unwrap(), "samples {}", samples);
        }
        let (width, condition) = (model.spec.network.width, model.spec.network.condition);
        let u = Tensor::randn([5, width], (Kind::Float, Device::Cpu));
        let c = (condition > 0).then(|| Tensor::randn([5, condition], (Kind::Float, Device::Cpu)));
        let (v, _) = model.network().forward(&u, c.as_ref());
        let back = model.network().inverse_rows(&v, c.as_ref());
        prop_assert!((back - u).abs().max().double_value(&[]) < 1e-4);
    }
}
