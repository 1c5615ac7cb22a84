//! Everything pages need about one learner, read in one go and cached until they write.
//! This server is the database's only writer, so a write-through cache stays exact: every
//! write path invalidates the learner's entry after it commits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{BestScore, LearnerId, SectionDone, Store, StoreError};

/// Cached snapshots beyond this many are dropped wholesale (a cheap bound, not an LRU).
const MAX_CACHED: usize = 4096;

/// A learner's name and progress rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LearnerSnapshot {
    /// Display name, if set.
    pub display_name: Option<String>,
    /// Sections marked done.
    pub sections_done: Vec<SectionDone>,
    /// Best score per checked task.
    pub best_scores: Vec<BestScore>,
    /// The kubeconfig context they chose, if any.
    pub context: Option<String>,
    /// The cluster their workshop gave them, if they are in one and it did.
    pub workshop_cluster: Option<String>,
    /// That cluster's provisioning record, when kubelab makes it (kind, kubernetes).
    pub workshop_env: Option<super::EnvironmentRow>,
    /// The latest messages from their workshop's instructor, newest first.
    pub messages: Vec<String>,
}

/// The cache with a generation counter, so a read that raced a write is not cached.
#[derive(Debug, Default)]
pub struct SnapshotCache {
    inner: Mutex<CacheInner>,
}

#[derive(Debug, Default)]
struct CacheInner {
    generation: u64,
    entries: HashMap<String, Arc<LearnerSnapshot>>,
}

impl SnapshotCache {
    fn get(&self, id: &LearnerId) -> (Option<Arc<LearnerSnapshot>>, u64) {
        match self.inner.lock() {
            Ok(inner) => (inner.entries.get(id.as_str()).cloned(), inner.generation),
            Err(_) => (None, u64::MAX),
        }
    }

    fn put(&self, id: &LearnerId, generation: u64, snapshot: Arc<LearnerSnapshot>) {
        if let Ok(mut inner) = self.inner.lock() {
            if inner.generation != generation {
                return;
            }
            if inner.entries.len() >= MAX_CACHED {
                inner.entries.clear();
            }
            inner.entries.insert(id.as_str().to_string(), snapshot);
        }
    }

    /// Forgets a learner's snapshot; called after every committed write for them.
    pub fn invalidate(&self, id: &LearnerId) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.generation = inner.generation.wrapping_add(1);
            inner.entries.remove(id.as_str());
        }
    }
}

impl Store {
    /// The learner's name and progress, from the cache or the database.
    pub async fn snapshot(&self, id: &LearnerId) -> Result<Arc<LearnerSnapshot>, StoreError> {
        let (cached, generation) = self.cache.get(id);
        if let Some(snapshot) = cached {
            return Ok(snapshot);
        }
        let Some(learner) = self.learner(id).await? else {
            // Not stored yet (they have never written): nothing to read, nothing to cache.
            return Ok(Arc::new(LearnerSnapshot::default()));
        };
        let workshop_cluster = self.membership(id).await?.and_then(|m| m.cluster);
        let workshop_env = match &workshop_cluster {
            Some(name) => self.environment(name).await?,
            None => None,
        };
        let snapshot = Arc::new(LearnerSnapshot {
            display_name: learner.display_name,
            sections_done: self.sections_done(id).await?,
            best_scores: self.best_scores(id).await?,
            context: self.learner_context(id).await?,
            workshop_cluster,
            workshop_env,
            messages: self.messages_for(id).await?,
        });
        self.cache.put(id, generation, snapshot.clone());
        Ok(snapshot)
    }
}
