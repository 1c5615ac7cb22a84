//! The lesson as a study folder for the learner's own notes repository.

use crate::content::export::{self, FolderFile};

use super::{Service, ServiceError, ServiceResult};

impl Service {
    /// The lesson's study folder, file by file.
    pub fn study_folder(&self, lesson: &str) -> ServiceResult<Vec<FolderFile>> {
        let lesson = self.lesson(lesson)?;
        Ok(export::study_folder(&self.0.catalogue, lesson))
    }

    /// The lesson's study folder as a `.tar.gz`, everything under a folder named after it.
    pub async fn study_folder_archive(&self, lesson: &str) -> ServiceResult<Vec<u8>> {
        let files = self.study_folder(lesson)?;
        let top = lesson.to_string();
        tokio::task::spawn_blocking(move || export::tar_gz(&files, &top))
            .await
            .map_err(|e| ServiceError::Invalid(format!("packing the study folder stopped: {e}")))?
            .map_err(|e| ServiceError::Invalid(format!("cannot pack the study folder: {e}")))
    }
}
