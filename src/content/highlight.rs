//! Server-side syntax highlighting with CSS classes, so the CSP needs no inline styles.
//!
//! Tokens are styled by two themes (light and dark) at load time, and each distinct pair of
//! styles becomes one short class (`h0`, `h1`, ...) in a [`Palette`]. Compared with one class
//! per syntax scope this keeps pages several times smaller, and the stylesheet is generated
//! from exactly the classes the content uses.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use syntect::highlighting::{Color, FontStyle, Highlighter, Style, Theme, ThemeSet};
use syntect::parsing::{ParseState, ScopeStack, SyntaxReference, SyntaxSet};
use syntect::util::LinesWithEndings;

const LIGHT_THEME: &str = "InspiredGitHub";
const DARK_THEME: &str = "base16-ocean.dark";

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

fn themes() -> &'static (Theme, Theme) {
    static THEMES: OnceLock<(Theme, Theme)> = OnceLock::new();
    THEMES.get_or_init(|| {
        let mut set = ThemeSet::load_defaults();
        let light = set.themes.remove(LIGHT_THEME).unwrap_or_default();
        let dark = set.themes.remove(DARK_THEME).unwrap_or_default();
        (light, dark)
    })
}

fn syntax_for(lang: &str) -> Option<&'static SyntaxReference> {
    let set = syntaxes();
    let token = match lang.to_ascii_lowercase().as_str() {
        "yaml" | "yml" => "yaml",
        "bash" | "sh" | "shell" | "console" | "zsh" => "bash",
        "json" => "json",
        "" | "text" | "txt" | "plain" => return None,
        other => return set.find_syntax_by_token(other),
    };
    set.find_syntax_by_token(token)
}

/// The language token for a file name, from its extension.
pub fn lang_for_file(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("yaml" | "yml") => "yaml",
        Some("sh") => "bash",
        Some("json") => "json",
        _ => "text",
    }
}

/// A token's look under both themes: foreground colour and font style.
type Look = ([u8; 4], u8, [u8; 4], u8);

/// The classes handed out while highlighting one content tree, and their stylesheet.
#[derive(Debug, Default)]
pub struct Palette {
    classes: HashMap<Look, usize>,
    order: Vec<Look>,
}

fn look(style: Style) -> ([u8; 4], u8) {
    let Color { r, g, b, a } = style.foreground;
    ([r, g, b, a], style.font_style.bits())
}

impl Palette {
    fn class(&mut self, key: Look) -> usize {
        if let Some(index) = self.classes.get(&key) {
            return *index;
        }
        let index = self.order.len();
        self.order.push(key);
        self.classes.insert(key, index);
        index
    }

    /// Highlights `code` as `lang` into escaped HTML with `hN` classes; unknown languages,
    /// and any parse failure, fall back to escaped plain text.
    pub fn highlight(&mut self, code: &str, lang: &str) -> String {
        let Some(syntax) = syntax_for(lang) else {
            return escape(code);
        };
        let (light_theme, dark_theme) = themes();
        let (light, dark) = (Highlighter::new(light_theme), Highlighter::new(dark_theme));
        let plain = (look(light.get_default()), look(dark.get_default()));
        let mut state = ParseState::new(syntax);
        let mut stack = ScopeStack::new();
        let mut out = String::with_capacity(code.len() * 2);
        let mut open: Option<usize> = None;
        for line in LinesWithEndings::from(code) {
            let Ok(ops) = state.parse_line(line, syntaxes()) else {
                return escape(code);
            };
            let mut pieces = Vec::with_capacity(ops.len() + 1);
            let mut start = 0;
            for (end, op) in ops {
                pieces.push((start, end, stack.clone()));
                if stack.apply(&op).is_err() {
                    return escape(code);
                }
                start = end;
            }
            pieces.push((start, line.len(), stack.clone()));
            for (from, to, scopes) in pieces {
                let Some(text) = line.get(from..to).filter(|t| !t.is_empty()) else {
                    continue;
                };
                let l = look(light.style_for_stack(scopes.as_slice()));
                let d = look(dark.style_for_stack(scopes.as_slice()));
                let class = ((l, d) != plain).then(|| self.class((l.0, l.1, d.0, d.1)));
                if class != open {
                    if open.is_some() {
                        out.push_str("</span>");
                    }
                    if let Some(class) = class {
                        let _ = write!(out, "<span class=\"h{class}\">");
                    }
                    open = class;
                }
                out.push_str(&escape(text));
            }
        }
        if open.is_some() {
            out.push_str("</span>");
        }
        out
    }

    /// The stylesheet for the classes handed out: light by default, dark under the dark
    /// scheme (unless the learner chose light) or when the learner chose dark.
    pub fn stylesheet(&self) -> String {
        let rule = |out: &mut String, prefix: &str, index: usize, color: [u8; 4], font: u8| {
            let font = FontStyle::from_bits_truncate(font);
            let _ = write!(
                out,
                "{prefix}.h{index}{{color:#{:02x}{:02x}{:02x}",
                color[0], color[1], color[2]
            );
            if font.contains(FontStyle::BOLD) {
                out.push_str(";font-weight:bold");
            }
            if font.contains(FontStyle::ITALIC) {
                out.push_str(";font-style:italic");
            }
            if font.contains(FontStyle::UNDERLINE) {
                out.push_str(";text-decoration:underline");
            }
            out.push_str("}\n");
        };
        let mut css = format!(
            "/* generated by kubelab from syntect's {LIGHT_THEME} and {DARK_THEME} themes */\n"
        );
        for (index, (lc, lf, _, _)) in self.order.iter().enumerate() {
            rule(&mut css, "", index, *lc, *lf);
        }
        css.push_str("@media (prefers-color-scheme: dark) {\n");
        for (index, (_, _, dc, df)) in self.order.iter().enumerate() {
            rule(&mut css, ":root:not([data-theme=light]) ", index, *dc, *df);
        }
        css.push_str("}\n");
        for (index, (_, _, dc, df)) in self.order.iter().enumerate() {
            rule(&mut css, ":root[data-theme=dark] ", index, *dc, *df);
        }
        css
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlights_yaml_with_short_classes_and_escapes() {
        let mut palette = Palette::default();
        let html = palette.highlight("kind: Pod\nname: \"<x>\"\n", "yaml");
        assert!(html.contains("<span class=\"h0\">"), "{html}");
        assert!(!html.contains("<x>"));
        assert!(html.contains("&lt;x&gt;"));
        assert!(!html.contains("style="));
        let css = palette.stylesheet();
        assert!(css.contains(".h0{color:#"), "{css}");
        assert!(css.contains(":root[data-theme=dark] .h0{color:#"), "{css}");
    }

    #[test]
    fn the_text_is_kept_verbatim() {
        let mut palette = Palette::default();
        let code = "kubectl exec -n test pod1 -- curl -sS http://10.244.1.3:80/ # ok\necho \"$X\" && true\n";
        let html = palette.highlight(code, "bash");
        let text: String = {
            let mut out = String::new();
            let mut in_tag = false;
            for c in html.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' if in_tag => in_tag = false,
                    c if !in_tag => out.push(c),
                    _ => {}
                }
            }
            out
        };
        assert_eq!(text.replace("&quot;", "\"").replace("&amp;", "&"), code);
    }

    #[test]
    fn unknown_language_is_escaped_text() {
        assert_eq!(Palette::default().highlight("<b>", "text"), "&lt;b&gt;");
    }
}
