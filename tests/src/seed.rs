//! A review queue seeded straight into a fresh PostgreSQL database, for the
//! benchmarks that need more work than the API could create in minutes
//! (`reviewbench`: 250,000 reviewed submissions; `claimbench`: 20,000
//! waiting ones): judging challenges, talents, their submissions, the
//! reviews of the reviewed ones and every submission's review seats — as
//! the service would have left them, all generated in the database.

use anyhow::{Context, bail};
use sea_orm::{ConnectionTrait, DatabaseConnection};

/// The tracks the seeded challenges cycle through (every sixth has none).
const TRACKS: &str = "(ARRAY['workflow_engineer','ai_generalist','preditor','data_lora_specialist','data_engineer'])";

/// What to seed.
#[derive(Debug, Clone)]
pub struct ReviewSeed {
    /// Judging challenges; the submissions are dealt out over them in turn.
    pub challenges: u64,
    /// Talents the submissions are by (`t<n>@talent.seed.example`).
    pub talents: u64,
    /// Community managers the seeded reviews are by
    /// (`r<n>@reviewer.seed.example`; they cannot sign in).
    pub reviewers: u64,
    /// Submissions reviewed: `seats` regular reviews each (seats filled),
    /// and an open tiebreak seat where the first two decisions differ.
    pub reviewed: u64,
    /// Submissions waiting for their reviews: `seats` open seats each.
    pub waiting: u64,
    /// Regular reviews per submission: the challenges'
    /// `reviewers_per_submission` (1–3), so the app's own seat sweep opens
    /// no other seats than these.
    pub seats: u8,
}

impl ReviewSeed {
    /// Runs the statements on `db`, a fresh database; ends with `VACUUM
    /// ANALYZE`.
    pub async fn run(&self, db: &DatabaseConnection) -> anyhow::Result<()> {
        for sql in self.statements()? {
            db.execute_unprepared(&sql)
                .await
                .with_context(|| sql.chars().take(120).collect::<String>())?;
        }
        Ok(())
    }

    /// The seed: one statement each.
    pub fn statements(&self) -> anyhow::Result<Vec<String>> {
        if !(1..=3).contains(&self.seats) {
            bail!("a seeded challenge has 1 to 3 reviewers per submission");
        }
        if self.challenges == 0 || self.talents == 0 {
            bail!("the seed needs challenges and talents");
        }
        if self.reviewed > 0 && self.reviewers < u64::from(self.seats) {
            bail!("reviewed submissions need at least one reviewer per seat");
        }
        let mut out = vec![
            user("t", "talent", self.talents, "[\"talent\"]"),
            self.challenges_sql(),
            self.submissions_sql(),
        ];
        if self.reviewed > 0 {
            out.push(user(
                "r",
                "reviewer",
                self.reviewers,
                "[\"talent\",\"community_manager\"]",
            ));
            out.push(self.reviews_sql());
            out.push(FILLED_SEATS.to_owned());
            if self.seats >= 2 {
                out.push(TIEBREAK_SEATS.to_owned());
            }
        }
        out.push(format!(
            // The app's seat sweep may have opened some already.
            "INSERT INTO review_seats (submission_id, seat, challenge_id, talent_id, track, kind, state, \
             submitted_at, opened_at, updated_at) \
             SELECT s.id, n, s.challenge_id, s.talent_id, c.track, 'regular', 'open', s.created_at, now(), now() \
               FROM submissions s JOIN challenges c ON c.id = s.challenge_id \
               CROSS JOIN generate_series(1, {}) n \
              WHERE s.status = 'submitted' ON CONFLICT DO NOTHING",
            self.seats
        ));
        out.push("VACUUM ANALYZE".to_owned());
        Ok(out)
    }

    fn challenges_sql(&self) -> String {
        format!(
            "INSERT INTO challenges (id, title, brief, track, min_tier, max_tier, opens_at, closes_at, review_due_at, \
             max_submissions_per_talent, reward, prizes, reference_assets, certifies_track, rubric_version, status, \
             cancel_reason, created_by, created_at, updated_at, reviewers_per_submission, blind_key) \
             SELECT gen_random_uuid(), 'Bench ' || g, 'b', CASE WHEN g % 6 = 0 THEN NULL ELSE {TRACKS}[1 + g % 5] END, \
                    0, 5, now() - interval '30 days', now() - interval '20 days', \
                    now() + make_interval(days => g % 20 - 10), 10, 0, '[]'::json, '[]'::json, \
                    NULL, 1, 'judging', NULL, gen_random_uuid(), now(), now(), {seats}, \
                    md5(random()::text) || md5(random()::text) \
               FROM generate_series(1, {n}) g",
            seats = self.seats,
            n = self.challenges
        )
    }

    /// The reviewed ones first (accepted), then the waiting ones; each a
    /// second older than the next, the talents spread by a stride prime
    /// to most counts.
    fn submissions_sql(&self) -> String {
        format!(
            "INSERT INTO submissions (id, challenge_id, talent_id, assets, prompt, workflow, batch_size, status, \
             copy_flagged, score, outputs_meeting_standard, review_id, reward_transaction_id, reward_owed, created_at, updated_at) \
             SELECT gen_random_uuid(), c.id, u.id, '[]'::json, 'p', '{{}}'::json, 4, \
                    CASE WHEN g <= {r} THEN 'accepted' ELSE 'submitted' END, false, NULL, NULL, NULL, NULL, 0, \
                    now() - make_interval(secs => g % 1000000), now() \
               FROM generate_series(1, {all}) g \
               JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM challenges) c ON c.rn = 1 + g % {c} \
               JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM users \
                      WHERE email LIKE '%@talent.seed.example') u \
                 ON u.rn = 1 + (g::bigint * 7919) % {t}",
            r = self.reviewed,
            all = self.reviewed + self.waiting,
            c = self.challenges,
            t = self.talents
        )
    }

    /// `seats` reviews of each reviewed submission by different reviewers,
    /// scores around a per-work "true" value, decided by the pass mark.
    fn reviews_sql(&self) -> String {
        let total = "LEAST(100, GREATEST(0, (abs(hashtext(s.id::text)) % 100) \
                     + (abs(hashtext(s.id::text || n::text)) % 31) - 15))::float8";
        format!(
            "INSERT INTO reviews (id, submission_id, challenge_id, talent_id, reviewer_id, rubric_version, scores, total, \
             decision, outputs_meeting_standard, feedback, reward_owed, created_at, seat) \
             SELECT gen_random_uuid(), s.id, s.challenge_id, s.talent_id, m.id, 1, '{{}}'::json, {total}, \
                    CASE WHEN {total} >= 50 THEN 'accepted' ELSE 'rejected' END, 1, 'f', 0, now(), n \
               FROM submissions s CROSS JOIN generate_series(1, {seats}) n \
               JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM users \
                      WHERE email LIKE '%@reviewer.seed.example') m \
                 ON m.rn = 1 + (abs(hashtext(s.id::text)) + n * {step}) % {k} \
              WHERE s.status <> 'submitted'",
            seats = self.seats,
            // Seats `step` apart pick different reviewers: 37 (pairs
            // spread over many reviewers), less for few of them.
            step = if self.reviewers > 37 * u64::from(self.seats) {
                37
            } else {
                self.reviewers / u64::from(self.seats)
            },
            k = self.reviewers
        )
    }
}

/// `n` active people `<prefix><g>@<kind>.seed.example` with `roles` (a JSON
/// array) and no usable password.
fn user(prefix: &str, kind: &str, n: u64, roles: &str) -> String {
    format!(
        "INSERT INTO users (id, email, handle, display_name, bio, password_hash, roles, status, created_at, updated_at) \
         SELECT gen_random_uuid(), '{prefix}' || g || '@{kind}.seed.example', 'seed_{prefix}' || g, '{kind} ' || g, \
                'bio', 'x', '{roles}'::json, 'active', now(), now() FROM generate_series(1, {n}) g"
    )
}

/// The reviewed submissions' seats, filled by their reviews.
const FILLED_SEATS: &str = "INSERT INTO review_seats (submission_id, seat, challenge_id, talent_id, track, kind, state, \
     submitted_at, review_id, reviewer_id, opened_at, updated_at) \
     SELECT r.submission_id, r.seat, r.challenge_id, r.talent_id, c.track, 'regular', 'filled', s.created_at, \
            r.id, r.reviewer_id, now(), now() \
       FROM reviews r JOIN submissions s ON s.id = r.submission_id JOIN challenges c ON c.id = r.challenge_id";

/// An open tiebreak seat (after the regular ones) where seats 1 and 2
/// decided differently.
const TIEBREAK_SEATS: &str = "INSERT INTO review_seats (submission_id, seat, challenge_id, talent_id, track, kind, state, \
     submitted_at, opened_at, updated_at) \
     SELECT rs.submission_id, c.reviewers_per_submission + 1, rs.challenge_id, rs.talent_id, rs.track, 'tiebreak', \
            'open', rs.submitted_at, now(), now() \
       FROM review_seats rs JOIN challenges c ON c.id = rs.challenge_id JOIN reviews a ON a.id = rs.review_id \
       JOIN reviews b ON b.submission_id = a.submission_id AND b.seat = 2 \
      WHERE rs.seat = 1 AND a.decision <> b.decision";
