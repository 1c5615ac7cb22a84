//! Time spent per task, from the moments the learner opened each task.

use std::collections::BTreeMap;

/// Seconds per task: each view lasts until the next view or the end of work. Views before
/// `start` count from `start`; views at or after `end` count nothing.
pub fn time_per_task(views: &[(String, i64)], start: i64, end: i64) -> BTreeMap<String, i64> {
    // A clock stepped backwards must not make the window negative (clamp would panic).
    let end = end.max(start);
    let mut sorted: Vec<&(String, i64)> = views.iter().collect();
    sorted.sort_by_key(|(_, at)| *at);
    let mut spent = BTreeMap::new();
    for (i, (task, at)) in sorted.iter().enumerate() {
        let from = (*at).clamp(start, end);
        let to = sorted
            .get(i + 1)
            .map(|(_, next)| *next)
            .unwrap_or(end)
            .clamp(start, end);
        *spent.entry(task.clone()).or_insert(0) += (to - from).max(0);
    }
    spent
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(task: &str, at: i64) -> (String, i64) {
        (task.to_string(), at)
    }

    #[test]
    fn each_view_lasts_until_the_next() {
        let spent = time_per_task(&[v("a", 100), v("b", 160), v("a", 200)], 100, 300);
        assert_eq!(spent.get("a"), Some(&(60 + 100)));
        assert_eq!(spent.get("b"), Some(&40));
        assert_eq!(spent.values().sum::<i64>(), 200, "all the time, no more");
    }

    #[test]
    fn views_outside_the_window_are_clamped() {
        let spent = time_per_task(&[v("b", 350), v("a", 50)], 100, 300);
        assert_eq!(spent.get("a"), Some(&200));
        assert_eq!(spent.get("b"), Some(&0));
        assert!(time_per_task(&[], 100, 300).is_empty());
        let reversed = time_per_task(&[v("a", 150)], 300, 100);
        assert_eq!(
            reversed.get("a"),
            Some(&0),
            "an end before the start counts nothing"
        );
    }
}
