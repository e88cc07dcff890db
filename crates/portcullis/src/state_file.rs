//! State files on disk: reading a document (JSON or YAML) with errors that name the file and the
//! JSON pointer of the bad value, and writing one.

use std::path::Path;

use portcullis_core::service::state::StateDocument;
use portcullis_core::CoreError;

/// How a document is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// JSON, indented.
    #[default]
    Json,
    /// YAML.
    Yaml,
}

/// A state file that cannot be used, said with the file and where in it.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct FileError {
    /// The file.
    pub file: String,
    /// What is wrong (starting with the JSON pointer when there is one).
    pub message: String,
}

fn pointer_of(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        use serde_path_to_error::Segment;
        let part = match segment {
            Segment::Seq { index } => index.to_string(),
            Segment::Map { key } => key.replace('~', "~0").replace('/', "~1"),
            Segment::Enum { variant } => variant.clone(),
            Segment::Unknown => continue,
        };
        out.push('/');
        out.push_str(&part);
    }
    out
}

/// Parses a document from `text`: YAML when the file name ends in `.yaml`/`.yml` or the text does
/// not start with `{`, JSON otherwise.
pub fn parse(file: &str, text: &str) -> Result<StateDocument, FileError> {
    let error = |message: String| FileError {
        file: file.to_owned(),
        message,
    };
    let yaml =
        file.ends_with(".yaml") || file.ends_with(".yml") || !text.trim_start().starts_with('{');
    let value: serde_json::Value = if yaml {
        serde_norway::from_str(text).map_err(|e| error(format!("not valid YAML: {e}")))?
    } else {
        serde_json::from_str(text).map_err(|e| error(format!("not valid JSON: {e}")))?
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let pointer = pointer_of(e.path());
        let pointer = if pointer.is_empty() {
            "/".to_owned()
        } else {
            pointer
        };
        error(format!("{pointer}: {}", e.into_inner()))
    })
}

/// Reads and parses the file at `path`.
pub fn read(path: &Path) -> Result<StateDocument, FileError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| FileError {
        file: file.clone(),
        message: format!("cannot be read: {e}"),
    })?;
    parse(&file, &text)
}

/// A validation error of the document, said with the file (the message names the pointer).
pub fn invalid(file: &Path, e: &CoreError) -> FileError {
    FileError {
        file: file.display().to_string(),
        message: match e {
            CoreError::Invalid { message, .. } => message.clone(),
            other => other.chain(),
        },
    }
}

/// The document as text.
pub fn render(doc: &StateDocument, format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(doc)?;
            s.push('\n');
            s
        }
        Format::Yaml => serde_norway::to_string(doc)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file_and_the_pointer() {
        let e = parse(
            "f.json",
            r#"{"portcullis_state": 1, "accounts": [{"id": "x", "name": 3}]}"#,
        )
        .err()
        .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("f.json: /accounts/0/name: invalid type: integer `3`, expected a string")
        );
        let e = parse(
            "f.yaml",
            "portcullis_state: 1\nusers:\n  - email: a@b.c\n    colour: red\n",
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            e.starts_with("f.yaml: /users/0/colour: unknown field `colour`"),
            "{e}"
        );
        let e = parse("f.yaml", "portcullis_state: [\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.starts_with("f.yaml: not valid YAML"), "{e}");
    }

    #[test]
    fn yaml_and_json_are_the_same_document() {
        let json = parse(
            "a.json",
            r#"{"portcullis_state": 1, "users": [{"email": "a@example.com", "operator": true}]}"#,
        );
        let yaml = parse(
            "a.yaml",
            "portcullis_state: 1\nusers:\n  - email: a@example.com\n    operator: true\n",
        );
        assert!(json.is_ok());
        assert_eq!(json.ok(), yaml.ok());
    }
}
