-- A transaction row. Its reference, reversed transaction and hold are each
-- unique where set (partial unique indexes), so a reward, an allowance
-- period, a reversal or a capture happens once: a second insert does nothing.
INSERT INTO ledger_transactions
    (id, kind, talent_id, amount, memo, reference, reverses_id, hold_id, actor_kind, actor_id, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT DO NOTHING
