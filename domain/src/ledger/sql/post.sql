-- PostgreSQL: insert_transaction.sql, move_balance.sql (posted only) and both
-- entries in one round trip. The move runs only if the transaction row was
-- inserted, and the entries only if the move was allowed. The transaction
-- comes first so that a once-only reference is detected before any balance
-- moves. `inserted` = 0: the reference was taken; `posted` NULL: refused.
-- `held` and `owed` tell the caller whether a debt is to be collected.
WITH tx AS (
    INSERT INTO ledger_transactions
        (id, kind, talent_id, amount, memo, reference, reverses_id, hold_id, actor_kind, actor_id, created_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
    /*on_conflict*/
    RETURNING id
), acct AS (
    UPDATE ledger_accounts SET posted = posted + $12, version = version + 1
     WHERE talent_id = $3 AND posted + $12 - held >= 0 AND posted + $12 <= $13
       AND EXISTS (SELECT 1 FROM tx)
    RETURNING id, posted, held, version, owed
), entries AS (
    INSERT INTO ledger_entries (transaction_id, account_id, amount, account_version, balance_after, created_at)
    SELECT tx.id, acct.id, $12, acct.version, acct.posted, $11 FROM tx, acct
    UNION ALL
    SELECT tx.id, $14, -$12, NULL, NULL, $11 FROM tx, acct
)
SELECT (SELECT COUNT(*) FROM tx) AS inserted, acct.posted AS posted, acct.held AS held,
       acct.owed AS owed
  FROM (SELECT 1) AS one LEFT JOIN acct ON TRUE
