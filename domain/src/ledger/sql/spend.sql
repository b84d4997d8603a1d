-- PostgreSQL's spend in one autocommitted statement (see `spends.rs`): the
-- guarded debit (move_balance.sql, posted only), the transaction, both
-- entries, its `credits.moved` event (the row `events::record` writes; its
-- reactions ignore the kind) and the idempotency key with its response. Each part runs only if
-- the one before it wrote its row; the debit comes first because a refused
-- statement must leave nothing behind, and the key row is the last write.
WITH acct AS (
    UPDATE ledger_accounts SET posted = posted + $1, version = version + 1
     WHERE talent_id = $2 AND posted + $1 - held >= 0 AND posted + $1 <= $3
    RETURNING id, posted, version
), tx AS (
    INSERT INTO ledger_transactions
        (id, kind, talent_id, amount, memo, reference, reverses_id, hold_id, actor_kind, actor_id, created_at)
    SELECT $4, 'spend', $2, $5, $6, NULL, NULL, NULL, $7, $8, $9 FROM acct
    RETURNING id
), entries AS (
    INSERT INTO ledger_entries (transaction_id, account_id, amount, account_version, balance_after, created_at)
    SELECT tx.id, acct.id, $1, acct.version, acct.posted, $9 FROM tx, acct
    UNION ALL
    SELECT tx.id, $10, -$1, NULL, NULL, $9 FROM tx, acct
), announced AS (
    INSERT INTO events (id, type, subject_type, subject_id, payload, created_at)
    SELECT $15, 'credits.moved', 'talent', $2,
           json_build_object('transaction_id', tx.id, 'talent_id', $2::uuid, 'kind', 'spend',
                             'amount', $1::bigint, 'balance_after', acct.posted),
           $9
      FROM tx, acct
), claimed AS (
    INSERT INTO idempotency_keys (scope, key, operation, request_hash, outcome, response, created_at)
    SELECT $11, $12, 'spend', $13, 'ok', jsonb_set($14, '{balance_after}', to_jsonb(acct.posted))::json, $9
      FROM tx, acct
)
SELECT acct.posted AS posted FROM acct
