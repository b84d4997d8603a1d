-- The one guarded statement that changes a talent's balance: posted by $1,
-- held by $2 (the version rises by $3: 1 when posted changes). It matches no
-- row when it would leave less than zero available or exceed the maximum
-- balance $5 — the check and the change are one step, so concurrent moves
-- cannot overdraw (PostgreSQL re-checks the WHERE after waiting for the row).
UPDATE ledger_accounts
   SET posted = posted + $1, held = held + $2, version = version + $3
 WHERE talent_id = $4
   AND posted + $1 - held - $2 >= 0
   AND posted + $1 <= $5
RETURNING id, posted, held, version, owed
