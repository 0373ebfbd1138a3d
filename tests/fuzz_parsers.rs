//! Property tests (bounded fuzzing) of everything that parses user input: CSV tables, observations,
//! manifests, counts and durations. None may panic; what they accept must be what they claim.

use innfer::io::observations::parse_observation;
use innfer::io::parse_count;
use innfer::io::table::read_table;
use innfer::model::checkpoint::read_manifest;
use proptest::prelude::*;

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
