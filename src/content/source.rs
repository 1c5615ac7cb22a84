//! Where content bytes come from: the copy embedded in the binary, or a folder on disk.

use std::collections::BTreeMap;
use std::path::Path;

use rust_embed::RustEmbed;

/// The default content, compiled into the binary so it runs from any directory.
#[derive(RustEmbed)]
#[folder = "content/"]
struct Embedded;

/// All files of a content tree, keyed by their `/`-separated path relative to its root.
#[derive(Debug, Clone, Default)]
pub struct ContentFiles {
    /// How problems name the root, e.g. `content` or the folder given with `--content`.
    pub root: String,
    /// Relative path to bytes.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl ContentFiles {
    /// The content embedded in the binary.
    pub fn embedded() -> Self {
        let files = Embedded::iter()
            .filter_map(|path| {
                Embedded::get(&path).map(|file| (path.to_string(), file.data.into_owned()))
            })
            .collect();
        ContentFiles {
            root: "content".to_string(),
            files,
        }
    }

    /// Every regular file below `dir`, read eagerly (content trees are small).
    pub fn from_dir(dir: &Path) -> std::io::Result<Self> {
        let mut files = BTreeMap::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(current) = stack.pop() {
            for entry in std::fs::read_dir(&current)? {
                let entry = entry?;
                let kind = entry.file_type()?;
                let path = entry.path();
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_file() {
                    let Ok(rel) = path.strip_prefix(dir) else {
                        continue;
                    };
                    let rel: Vec<String> = rel
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect();
                    files.insert(rel.join("/"), std::fs::read(&path)?);
                }
            }
        }
        let root = dir.display().to_string();
        Ok(ContentFiles {
            root: root.trim_end_matches('/').to_string(),
            files,
        })
    }

    /// The display path of a relative path, for problem messages.
    pub fn display(&self, rel: &str) -> String {
        format!("{}/{rel}", self.root)
    }

    /// The bytes at a relative path.
    pub fn get(&self, rel: &str) -> Option<&[u8]> {
        self.files.get(rel).map(Vec::as_slice)
    }

    /// Relative paths directly below `dir` (not recursive) with the given suffix.
    pub fn children<'a>(&'a self, dir: &'a str, suffix: &'a str) -> impl Iterator<Item = &'a str> {
        let prefix = format!("{dir}/");
        self.files.keys().filter_map(move |path| {
            let rest = path.strip_prefix(&prefix)?;
            (!rest.contains('/') && rest.ends_with(suffix)).then_some(path.as_str())
        })
    }

    /// Names of the folders directly below `dir`.
    pub fn subdirs(&self, dir: &str) -> Vec<String> {
        let prefix = format!("{dir}/");
        let mut out: Vec<String> = self
            .files
            .keys()
            .filter_map(|path| {
                let rest = path.strip_prefix(&prefix)?;
                rest.split_once('/').map(|(first, _)| first.to_string())
            })
            .collect();
        out.dedup();
        out
    }
}
