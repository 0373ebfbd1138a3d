//! Column selections as users type them: `a,b,c`, numbered ranges `theta1..theta5`, or spans of
//! the header `first..last`.

use crate::error::{Error, Result};

/// Splits a name into its text and its trailing number: `theta12` → (`theta`, 12).
fn numbered_parts(name: &str) -> Option<(&str, u64)> {
    let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let (prefix, number) = name.split_at(name.len() - digits);
    Some((prefix, number.parse().ok()?))
}

/// Expands a selection such as `x1..x4,label` against a file's `header`: each comma-separated part is
/// a name or a range `first..last`. A range of numbered names with one prefix (`theta1..theta5`)
/// names every number in between; any other range spans the header from `first` to `last`. Every
/// name must be in the header, and none may be named twice. `flag` names the option in errors.
pub fn select_columns(selection: &str, header: &[String], flag: &str) -> Result<Vec<String>> {
    let missing = |name: &str| Error::invalid(format!("{flag}: no column '{name}' in the data (it has: {})", header.join(", ")));
    let position = |name: &str| header.iter().position(|column| column == name).ok_or_else(|| missing(name));
    let mut names: Vec<String> = Vec::new();
    for part in selection.split(',').map(str::trim) {
        if part.is_empty() {
            return Err(Error::invalid(format!("{flag}: empty column name in '{selection}'")));
        }
        match part.split_once("..") {
            None => names.push(header[position(part)?].clone()),
            Some((first, last)) => {
                let (first, last) = (first.trim(), last.trim());
                match (numbered_parts(first), numbered_parts(last)) {
                    (Some((prefix, from)), Some((other, to))) if prefix == other && !prefix.is_empty() => {
                        if from > to {
                            return Err(Error::invalid(format!("{flag}: the range '{part}' runs backwards")));
                        }
                        for number in from..=to {
                            names.push(header[position(&format!("{prefix}{number}"))?].clone());
                        }
                    }
                    _ => {
                        let (from, to) = (position(first)?, position(last)?);
                        if from > to {
                            return Err(Error::invalid(format!(
                                "{flag}: '{first}' comes after '{last}' in the header, so '{part}' is empty"
                            )));
                        }
                        names.extend(header[from..=to].iter().cloned());
                    }
                }
            }
        }
    }
    for (index, name) in names.iter().enumerate() {
        if names[..index].contains(name) {
            return Err(Error::invalid(format!("{flag}: column '{name}' is selected twice")));
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Vec<String> {
        ["t", "theta1", "theta2", "theta3", "theta10", "a", "b"].map(String::from).to_vec()
    }

    fn select(selection: &str) -> Result<Vec<String>> {
        select_columns(selection, &header(), "--x")
    }

    #[test]
    fn expands_lists_numbered_ranges_and_spans() {
        assert_eq!(select("a, t").unwrap(), ["a", "t"]);
        assert_eq!(select("theta1..theta3").unwrap(), ["theta1", "theta2", "theta3"]);
        assert_eq!(select("theta3..b").unwrap(), ["theta3", "theta10", "a", "b"]);
        assert_eq!(select("b,theta2..theta3").unwrap(), ["b", "theta2", "theta3"]);
    }

    #[test]
    fn names_what_is_wrong() {
        let cases = [
            ("theta1..theta4", "no column 'theta4'"),
            ("c", "no column 'c'"),
            ("a,a", "selected twice"),
            ("theta1..theta2,theta2", "selected twice"),
            ("theta3..theta1", "runs backwards"),
            ("b..t", "comes after"),
            ("a,,b", "empty column name"),
        ];
        for (selection, expected) in cases {
            let error = select(selection).unwrap_err().to_string();
            assert!(error.contains(expected) && error.starts_with("--x"), "{selection}: {error}");
        }
    }
}
