//! `/lessons/{lesson}`: the whole lesson with its table of contents and progress controls,
//! and the no-JavaScript form that marks a section done. The page is the same for every
//! learner but for a few slots (header, done marks, best scores), so it is rendered and
//! compressed once at start-up and each request fills only the slots.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use askama::Template;
use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::content::{Lesson, TaskStyle};
use crate::web::error::{AppError, AppResult};
use crate::web::identity::CurrentLearner;
use crate::web::page::{Chrome, stitched_page};
use crate::web::state::AppState;
use crate::web::stitch::{Part, Piece};

/// A section as every learner sees it.
pub struct SectionView<'a> {
    /// Id (anchor).
    pub id: &'a str,
    /// Title.
    pub title: &'a str,
    /// Rendered body.
    pub html: &'a str,
    /// 1-based position.
    pub number: usize,
    /// A step of the lesson's debugging checklist points here (the page links the diagnosis).
    pub diagnosed: bool,
}

/// A task as the lesson lists it.
pub struct TaskCard<'a> {
    /// Id.
    pub id: &'a str,
    /// Title.
    pub title: &'a str,
    /// Budget in minutes.
    pub minutes: u32,
    /// Style label.
    pub style: &'static str,
    /// Points available.
    pub max: u32,
}

/// The lesson page with a slot marker wherever a learner's own state goes.
#[derive(Template)]
#[template(path = "lesson.html")]
struct LessonTemplate<'a> {
    chrome: Chrome,
    slot: &'a SlotMarks,
    lesson: &'a Lesson,
    sections: Vec<SectionView<'a>>,
    tasks: Vec<TaskCard<'a>>,
    total_minutes: u32,
    /// Practice exams for this lesson.
    exams: Vec<&'a crate::content::Exam>,
}

/// The page header for one learner, rendered into the lesson's `chrome` slot.
#[derive(Template)]
#[template(path = "partials/chrome.html")]
struct ChromeFragment<'a> {
    chrome: &'a Chrome,
}

/// A section's "Mark as done" form controls, in both states.
#[derive(Template)]
#[template(path = "partials/mark-done.html")]
struct MarkDone {
    done: bool,
}

/// Writes slot markers: a random nonce makes them impossible to meet in content.
struct SlotMarks {
    prefix: String,
}

const MARK_END: &str = "@@";

impl SlotMarks {
    fn new() -> SlotMarks {
        let mut bytes = [0u8; 12];
        // Without randomness the nonce is still unlikely in content; authors gain nothing by
        // forging one (the page would fail to build and say so).
        let _ = getrandom::fill(&mut bytes);
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        SlotMarks {
            prefix: format!("@@{hex}:"),
        }
    }

    /// The marker for slot `kind` number `index` (called by the template).
    fn at(&self, kind: &str, index: impl std::borrow::Borrow<usize>) -> String {
        format!("{}{kind}:{}{MARK_END}", self.prefix, index.borrow())
    }
}

/// What a learner's state fills in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Slot {
    /// The header: name, cluster badge, messages.
    Chrome,
    /// Sections done (a number).
    DoneCount,
    /// ` class="done"` on a contents entry.
    TocClass(usize),
    /// The "(done)" text for screen readers in a contents entry.
    TocDone(usize),
    /// ` done` on a section's class.
    SectionClass(usize),
    /// A section's mark-done controls.
    MarkDone(usize),
    /// A task card's best score.
    Best(usize),
}

impl Slot {
    fn parse(kind: &str, index: usize, sections: usize, tasks: usize) -> Option<Slot> {
        let slot = match kind {
            "chrome" => Slot::Chrome,
            "done-count" => Slot::DoneCount,
            "toc-class" => Slot::TocClass(index),
            "toc-done" => Slot::TocDone(index),
            "section-class" => Slot::SectionClass(index),
            "mark-done" => Slot::MarkDone(index),
            "best" => Slot::Best(index),
            _ => return None,
        };
        let fits = match slot {
            Slot::Chrome | Slot::DoneCount => index == 0,
            Slot::Best(i) => i < tasks,
            Slot::TocClass(i) | Slot::TocDone(i) | Slot::SectionClass(i) | Slot::MarkDone(i) => {
                i < sections
            }
        };
        fits.then_some(slot)
    }
}

enum Segment {
    Fixed(Piece),
    Slot(Slot),
}

/// The fixed pieces a done or not-done section shows.
struct DonePieces {
    toc_class: Piece,
    toc_done: Piece,
    section_class: Piece,
    mark: [Piece; 2],
}

/// One lesson's page for every learner, rendered and compressed once at load.
pub struct LessonSkeleton {
    segments: Vec<Segment>,
    sections: Vec<String>,
    tasks: Vec<(String, u32)>,
    done: DonePieces,
    /// Identifies the fixed bytes, so ETags survive a restart with the same content.
    fingerprint: u64,
}

impl LessonSkeleton {
    /// Renders the lesson with slot markers and splits it at them.
    fn build(
        catalogue: &crate::content::Catalogue,
        lesson: &Lesson,
        chrome: Chrome,
    ) -> Result<LessonSkeleton, String> {
        let marks = SlotMarks::new();
        let sections: Vec<SectionView<'_>> = lesson
            .sections
            .iter()
            .enumerate()
            .map(|(index, s)| SectionView {
                id: &s.id,
                title: &s.title,
                html: &s.html,
                number: index + 1,
                diagnosed: lesson.diagnose.iter().any(|d| d.section == s.id),
            })
            .collect();
        let tasks: Vec<TaskCard<'_>> = catalogue
            .lesson_tasks(lesson)
            .map(|task| TaskCard {
                id: &task.id,
                title: &task.title,
                minutes: task.minutes,
                style: TaskStyle::label(task.style),
                max: task.max_points(),
            })
            .collect();
        let page = LessonTemplate {
            chrome,
            slot: &marks,
            lesson,
            total_minutes: tasks.iter().map(|t| t.minutes).sum(),
            exams: catalogue.lesson_exams(&lesson.id).collect(),
            sections,
            tasks,
        };
        let html = page.render().map_err(|e| e.to_string())?;
        let render = |done: bool| {
            MarkDone { done }
                .render()
                .map(Piece::new)
                .map_err(|e| e.to_string())
        };
        let done = DonePieces {
            toc_class: Piece::new(" class=\"done\""),
            toc_done: Piece::new("<span class=\"visually-hidden\"> (done)</span>"),
            section_class: Piece::new(" done"),
            mark: [render(false)?, render(true)?],
        };
        let section_ids = page.sections.iter().map(|s| s.id.to_string()).collect();
        let task_ids = page
            .tasks
            .iter()
            .map(|t| (t.id.to_string(), t.max))
            .collect();
        let (segments, fingerprint) =
            split(&html, &marks.prefix, page.sections.len(), page.tasks.len())
                .map_err(|e| format!("lesson `{}`: {e}", lesson.id))?;
        Ok(LessonSkeleton {
            segments,
            sections: section_ids,
            tasks: task_ids,
            done,
            fingerprint,
        })
    }
}

/// Splits rendered HTML at the slot markers into fixed pieces and slots.
fn split(
    html: &str,
    prefix: &str,
    sections: usize,
    tasks: usize,
) -> Result<(Vec<Segment>, u64), String> {
    let mut segments = Vec::new();
    let mut hasher = std::hash::DefaultHasher::new();
    let mut rest = html;
    while let Some(at) = rest.find(prefix) {
        let fixed = &rest[..at];
        let after = &rest[at + prefix.len()..];
        let end = after
            .find(MARK_END)
            .ok_or_else(|| "a slot marker is not closed".to_string())?;
        let (kind, index) = after[..end]
            .split_once(':')
            .ok_or_else(|| "a slot marker has no index".to_string())?;
        let index: usize = index
            .parse()
            .map_err(|_| format!("slot `{kind}` has a bad index `{index}`"))?;
        let slot = Slot::parse(kind, index, sections, tasks)
            .ok_or_else(|| format!("unknown or out-of-range slot `{kind}:{index}`"))?;
        fixed.hash(&mut hasher);
        slot.hash(&mut hasher);
        if !fixed.is_empty() {
            segments.push(Segment::Fixed(Piece::new(fixed.to_string())));
        }
        segments.push(Segment::Slot(slot));
        rest = &after[end + MARK_END.len()..];
    }
    rest.hash(&mut hasher);
    segments.push(Segment::Fixed(Piece::new(rest.to_string())));
    Ok((segments, hasher.finish()))
}

/// Every lesson's skeleton, built when the server starts.
pub struct LessonPages(HashMap<String, Result<LessonSkeleton, String>>);

impl LessonPages {
    /// Renders and compresses each lesson; the header's stylesheet links come from `chrome`.
    pub fn build(catalogue: &crate::content::Catalogue, chrome: &Chrome) -> LessonPages {
        LessonPages(
            catalogue
                .lessons
                .iter()
                .map(|lesson| {
                    let skeleton = LessonSkeleton::build(catalogue, lesson, chrome.clone());
                    if let Err(err) = &skeleton {
                        tracing::error!(lesson = %lesson.id, error = %err, "the lesson page could not be built");
                    }
                    (lesson.id.clone(), skeleton)
                })
                .collect(),
        )
    }

    fn get(&self, lesson: &str) -> AppResult<&LessonSkeleton> {
        match self.0.get(lesson) {
            Some(Ok(skeleton)) => Ok(skeleton),
            Some(Err(err)) => Err(AppError::Internal(err.clone())),
            None => Err(AppError::NotFound(format!(
                "There is no lesson `{lesson}`."
            ))),
        }
    }
}

/// `GET /lessons/{lesson}`: the shared, precompressed page with this learner's state in
/// its slots; a revisit whose `If-None-Match` still holds gets a 304.
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    CurrentLearner(learner): CurrentLearner,
    headers: HeaderMap,
) -> AppResult<Response> {
    let (me, progress) = state.service.lesson_progress(&learner, &id).await?;
    let skeleton = state.lessons().get(&id)?;
    let chrome = Chrome::of(&state, &me);
    let header = ChromeFragment { chrome: &chrome }.render()?;
    let done: Vec<bool> = skeleton
        .sections
        .iter()
        .map(|s| progress.is_done(s))
        .collect();
    let count = done.iter().filter(|d| **d).count().to_string();
    let bests: Vec<String> = skeleton
        .tasks
        .iter()
        .map(
            |(task, max)| match progress.task(task).and_then(|t| t.best_score) {
                Some(best) => format!(" · best {best}/{max}"),
                None => String::new(),
            },
        )
        .collect();
    let d = &skeleton.done;
    let mut tag = std::hash::DefaultHasher::new();
    skeleton.fingerprint.hash(&mut tag);
    let parts: Vec<Part<'_>> = skeleton
        .segments
        .iter()
        .map(|segment| {
            let slot = match segment {
                Segment::Fixed(piece) => return Part::Fixed(piece),
                Segment::Slot(slot) => *slot,
            };
            let fill = |on: bool, piece| {
                if on {
                    Part::Fixed(piece)
                } else {
                    Part::Own(b"")
                }
            };
            let part = match slot {
                Slot::Chrome => Part::Own(header.as_bytes()),
                Slot::DoneCount => Part::Own(count.as_bytes()),
                Slot::TocClass(i) => fill(done[i], &d.toc_class),
                Slot::TocDone(i) => fill(done[i], &d.toc_done),
                Slot::SectionClass(i) => fill(done[i], &d.section_class),
                Slot::MarkDone(i) => Part::Fixed(&d.mark[usize::from(done[i])]),
                Slot::Best(i) => Part::Own(bests[i].as_bytes()),
            };
            match part {
                Part::Fixed(piece) => piece.raw().hash(&mut tag),
                Part::Own(bytes) => bytes.hash(&mut tag),
            }
            part
        })
        .collect();
    Ok(stitched_page(&state, &headers, &parts, tag.finish()))
}

/// The form posted by a section's "Mark as done" button.
#[derive(Debug, Deserialize)]
pub struct DoneForm {
    /// `true` to mark done, `false` to undo.
    pub done: bool,
}

/// `POST /lessons/{lesson}/sections/{section}/done`: works without JavaScript.
pub async fn mark(
    State(state): State<AppState>,
    Path((lesson_id, section_id)): Path<(String, String)>,
    CurrentLearner(learner): CurrentLearner,
    form: Result<Form<DoneForm>, FormRejection>,
) -> AppResult<Redirect> {
    let Form(form) = form.map_err(AppError::from_form)?;
    let (lesson, section) = state
        .service
        .mark_section(&learner, &lesson_id, &section_id, form.done)
        .await?;
    Ok(Redirect::to(&format!("/lessons/{lesson}#{section}")))
}

/// `GET /lessons/{lesson}/download`: the lesson as a study folder (`.tar.gz`).
pub async fn download(
    State(state): State<AppState>,
    Path(lesson): Path<String>,
) -> AppResult<Response> {
    let archive = state.service.study_folder_archive(&lesson).await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/gzip".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{lesson}.tar.gz\""),
            ),
        ],
        archive,
    )
        .into_response())
}
