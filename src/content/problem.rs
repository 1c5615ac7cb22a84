//! A content problem located at `file:line`, the unit of `kubelab lint` output.

/// One thing wrong with the content.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// Display path of the file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong, in one sentence.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// All problems of one load, printed one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for problem in &self.0 {
            writeln!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// The 1-based line of the first line containing `needle` after a `key:` or list dash,
/// or else any line containing it; line 1 when absent. Serde does not keep spans, so
/// semantic problems are located by searching the source.
pub fn line_of(source: &str, key: &str, needle: &str) -> usize {
    let hit = |pred: &dyn Fn(&str) -> bool| source.lines().position(pred).map(|index| index + 1);
    let keyed = format!("{key}:");
    hit(&|line: &str| {
        let line = line.trim_start().trim_start_matches("- ");
        line.starts_with(&keyed) && line.contains(needle)
    })
    .or_else(|| hit(&|line: &str| line.trim_start().starts_with("- ") && line.contains(needle)))
    .or_else(|| hit(&|line: &str| line.contains(needle)))
    .unwrap_or(1)
}

/// The 1-based line holding byte `offset` of `text` (the last line when past the end).
pub(crate) fn line_at(text: &[u8], offset: usize) -> usize {
    text[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keyed_lines_first() {
        let src = "title: pod1 things\nfiles:\n  - pod1.yaml\nid: pod1\n";
        assert_eq!(line_of(src, "id", "pod1"), 4);
        assert_eq!(line_of(src, "files", "pod1.yaml"), 3);
        assert_eq!(line_of(src, "x", "absent"), 1);
    }

    #[test]
    fn lines_at_byte_offsets() {
        assert_eq!(line_at(b"a\nb\nc", 0), 1);
        assert_eq!(line_at(b"a\nb\nc", 2), 2);
        assert_eq!(line_at(b"a\nb\nc", 99), 3);
    }
}
