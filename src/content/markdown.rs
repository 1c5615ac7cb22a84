//! Markdown to safe HTML, once at load: headings get stable anchors, fenced code is
//! highlighted, `file:<name>` blocks embed a lesson file, and author HTML is sanitized.

use std::collections::HashSet;

use pulldown_cmark::{CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd};

use super::highlight::{Palette, escape, lang_for_file};
use super::problem::line_at;

/// What rendering found besides the HTML: references that the loader validates.
#[derive(Debug, Default)]
pub struct Rendered {
    /// Sanitized HTML.
    pub html: String,
    /// `file:<name>` references with their 1-based line in the Markdown.
    pub files: Vec<(String, usize)>,
    /// Links to `/tasks/<id>` with their line.
    pub task_links: Vec<(String, usize)>,
}

/// Files a Markdown text may embed, with the URL prefix they are downloaded from.
pub struct Embeds<'a> {
    /// e.g. `/lessons/pod-connectivity/files`.
    pub url_prefix: &'a str,
    /// Looks up a file's text by name.
    pub lookup: &'a dyn Fn(&str) -> Option<&'a str>,
}

/// Renders a Markdown text; heading anchors are prefixed with `anchor_prefix`.
pub fn render(
    markdown: &str,
    anchor_prefix: &str,
    embeds: &Embeds<'_>,
    palette: &mut Palette,
) -> Rendered {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut events: Vec<Event<'_>> = Vec::new();
    let mut blocks: Vec<String> = Vec::new();
    let mut found = Rendered::default();
    let token = placeholder_token();
    let mut code: Option<(String, String, usize)> = None; // info, text, line
    for (event, range) in Parser::new_ext(markdown, options).into_offset_iter() {
        let line = line_at(markdown.as_bytes(), range.start);
        match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                let info = match kind {
                    CodeBlockKind::Fenced(info) => info.to_string(),
                    CodeBlockKind::Indented => String::new(),
                };
                code = Some((info, String::new(), line));
            }
            Event::Text(text) if code.is_some() => {
                if let Some((_, body, _)) = code.as_mut() {
                    body.push_str(&text);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                let Some((info, body, line)) = code.take() else {
                    continue;
                };
                let html = match info.trim().strip_prefix("file:") {
                    Some(name) => {
                        let name = name.trim();
                        found.files.push((name.to_string(), line));
                        match (embeds.lookup)(name) {
                            Some(text) => code_block(
                                palette,
                                text,
                                lang_for_file(name),
                                Some((embeds.url_prefix, name)),
                            ),
                            None => format!(
                                "<p class=\"missing-file\">Missing file {}</p>",
                                escape(name)
                            ),
                        }
                    }
                    None => {
                        let lang = info.split_whitespace().next().unwrap_or("");
                        code_block(palette, &body, lang, None)
                    }
                };
                events.push(Event::Html(CowStr::from(format!(
                    "<p>{token}{}</p>",
                    blocks.len()
                ))));
                blocks.push(html);
            }
            Event::Start(Tag::Link { ref dest_url, .. }) => {
                if let Some(task) = dest_url.strip_prefix("/tasks/") {
                    found
                        .task_links
                        .push((task.trim_end_matches('/').to_string(), line));
                }
                events.push(event);
            }
            other => events.push(other),
        }
    }
    assign_heading_ids(&mut events, anchor_prefix);
    let mut raw = String::with_capacity(markdown.len() * 2);
    pulldown_cmark::html::push_html(&mut raw, events.into_iter());
    let mut html = sanitizer().clean(&raw).to_string();
    for (index, block) in blocks.iter().enumerate().rev() {
        html = html.replace(&format!("<p>{token}{index}</p>"), block);
    }
    found.html = html;
    found
}

/// A highlighted code block with a copy button (revealed by JS) and, for files, a download link.
pub fn code_block(
    palette: &mut Palette,
    code: &str,
    lang: &str,
    file: Option<(&str, &str)>,
) -> String {
    let head = match file {
        Some((prefix, name)) => format!(
            "<span class=\"code-name\">{name}</span><a class=\"code-download\" href=\"{prefix}/{name}\" download>Download</a>",
            name = escape(name),
            prefix = escape(prefix),
        ),
        None => format!("<span class=\"code-lang\">{}</span>", escape(lang)),
    };
    format!(
        "<figure class=\"code-block\"><figcaption>{head}<button type=\"button\" class=\"copy-button\" hidden>Copy</button></figcaption><pre class=\"code\"><code>{}</code></pre></figure>",
        palette.highlight(code, lang)
    )
}

/// Gives every heading an id `<prefix>-<slug>`, unique within the text.
fn assign_heading_ids(events: &mut [Event<'_>], prefix: &str) {
    let mut seen = HashSet::new();
    for index in 0..events.len() {
        if !matches!(events[index], Event::Start(Tag::Heading { .. })) {
            continue;
        }
        let mut text = String::new();
        for event in &events[index + 1..] {
            match event {
                Event::End(TagEnd::Heading(_)) => break,
                Event::Text(t) | Event::Code(t) => text.push_str(t),
                _ => {}
            }
        }
        let base = format!("{prefix}-{}", slug(&text));
        let mut id = base.clone();
        let mut n = 2;
        while !seen.insert(id.clone()) {
            id = format!("{base}-{n}");
            n += 1;
        }
        if let Event::Start(Tag::Heading { id: slot, .. }) = &mut events[index] {
            *slot = Some(CowStr::from(id));
        }
    }
}

/// Lowercase ASCII slug of a heading text.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

fn sanitizer() -> ammonia::Builder<'static> {
    let mut builder = ammonia::Builder::default();
    for tag in ["h1", "h2", "h3", "h4", "h5", "h6"] {
        builder.add_tag_attributes(tag, &["id"]);
    }
    builder.link_rel(Some("noopener noreferrer"));
    builder
}

/// A random token marking where a trusted code block goes after sanitizing.
fn placeholder_token() -> String {
    let mut bytes = [0u8; 8];
    // Without randomness the token is still unique enough: authors gain nothing by forging it.
    let _ = getrandom::fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("kubelab-block-{hex}-")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_files(_: &str) -> Option<&'static str> {
        None
    }

    fn render_plain(md: &str) -> Rendered {
        render(
            md,
            "s",
            &Embeds {
                url_prefix: "/lessons/l/files",
                lookup: &no_files,
            },
            &mut Palette::default(),
        )
    }

    #[test]
    fn strips_scripts_and_handlers() {
        let out = render_plain(
            "hi <script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))\n",
        );
        assert!(!out.html.contains("<script"), "{}", out.html);
        assert!(!out.html.contains("onerror"), "{}", out.html);
        assert!(!out.html.contains("javascript:"), "{}", out.html);
    }

    #[test]
    fn headings_get_unique_prefixed_ids() {
        let out = render_plain("### Pod IPs\n\n### Pod IPs\n");
        assert!(out.html.contains("id=\"s-pod-ips\""), "{}", out.html);
        assert!(out.html.contains("id=\"s-pod-ips-2\""), "{}", out.html);
    }

    #[test]
    fn embeds_files_and_records_references() {
        let lookup = |name: &str| (name == "pod1.yaml").then_some("kind: Pod\n");
        let out = render(
            "text\n\n```file:pod1.yaml\n```\n\n```file:nope.yaml\n```\n\n[t](/tasks/deploy-two-pods)\n",
            "s",
            &Embeds {
                url_prefix: "/lessons/l/files",
                lookup: &lookup,
            },
            &mut Palette::default(),
        );
        assert!(
            out.html.contains("href=\"/lessons/l/files/pod1.yaml\""),
            "{}",
            out.html
        );
        assert!(out.html.contains("class=\"h0\""), "{}", out.html);
        assert_eq!(
            out.files,
            vec![("pod1.yaml".to_string(), 3), ("nope.yaml".to_string(), 6)]
        );
        assert_eq!(out.task_links, vec![("deploy-two-pods".to_string(), 9)]);
    }

    #[test]
    fn code_in_code_blocks_stays_escaped() {
        let out = render_plain("```yaml\nname: \"<script>\"\n```\n");
        assert!(!out.html.contains("<script>"), "{}", out.html);
        assert!(out.html.contains("copy-button"));
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Why It Matters for CKA?"), "why-it-matters-for-cka");
        assert_eq!(slug("  `kubectl` -- wide "), "kubectl-wide");
    }
}
