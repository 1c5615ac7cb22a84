//! The learner's own data: display name, sections marked done, progress over the content.

use std::sync::Arc;

use crate::store::{LearnerId, LearnerSnapshot};

use super::progress::{LessonProgress, all_progress, lesson_progress};
use super::{Service, ServiceError, ServiceResult};

/// Longest display name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 60;

/// Trims a display name and checks it; `None` means "clear the name".
pub fn clean_name(raw: &str) -> ServiceResult<Option<String>> {
    let name = raw.trim();
    if name.is_empty() {
        return Ok(None);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(ServiceError::Invalid(format!(
            "A display name has at most {MAX_NAME_CHARS} characters."
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ServiceError::Invalid(
            "A display name cannot contain control characters.".into(),
        ));
    }
    Ok(Some(name.to_string()))
}

/// A learner with their progress in every lesson.
#[derive(Debug, Clone)]
pub struct LearnerProgress {
    /// The learner.
    pub me: Arc<LearnerSnapshot>,
    /// Per lesson, in catalogue order.
    pub lessons: Vec<LessonProgress>,
}

impl LearnerProgress {
    /// One lesson's progress.
    pub fn lesson(&self, id: &str) -> Option<&LessonProgress> {
        self.lessons.iter().find(|l| l.id == id)
    }
}

impl Service {
    /// Sets (or, with an empty name, clears) the display name; returns it as stored.
    pub async fn set_name(&self, learner: &LearnerId, raw: &str) -> ServiceResult<Option<String>> {
        let name = clean_name(raw)?;
        self.0
            .store
            .set_display_name(learner, name.as_deref(), self.now())
            .await?;
        Ok(name)
    }

    /// Marks a lesson's section done or not done; returns (lesson id, section id).
    pub async fn mark_section(
        &self,
        learner: &LearnerId,
        lesson: &str,
        section: &str,
        done: bool,
    ) -> ServiceResult<(String, String)> {
        let found = self.lesson(lesson)?;
        let section = found
            .section(section)
            .ok_or_else(|| ServiceError::NoSection {
                lesson: lesson.to_string(),
                section: section.to_string(),
            })?;
        self.0
            .store
            .set_section_done(learner, &found.id, &section.id, done, self.now())
            .await?;
        Ok((found.id.clone(), section.id.clone()))
    }

    /// The learner's progress in every lesson, in catalogue order.
    pub async fn progress(&self, learner: &LearnerId) -> ServiceResult<LearnerProgress> {
        let me = self.learner(learner).await?;
        let lessons = all_progress(&self.0.catalogue, &me.sections_done, &me.best_scores);
        Ok(LearnerProgress { me, lessons })
    }

    /// The learner with their progress in one lesson (the lesson page needs no other).
    pub async fn lesson_progress(
        &self,
        learner: &LearnerId,
        lesson: &str,
    ) -> ServiceResult<(Arc<LearnerSnapshot>, LessonProgress)> {
        let lesson = self.lesson(lesson)?;
        let me = self.learner(learner).await?;
        let progress = lesson_progress(
            &self.0.catalogue,
            lesson,
            &me.sections_done,
            &me.best_scores,
        );
        Ok((me, progress))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean_name("  Ada ").unwrap(), Some("Ada".to_string()));
        assert_eq!(clean_name("   ").unwrap(), None);
        assert!(clean_name(&"x".repeat(61)).is_err());
        assert!(clean_name("a\u{7}b").is_err());
    }
}
