-- Amounts are bounded (D-022): 0 to 10^15 minor units, as `Money::MAX_MINOR` checks first. Rows from before keep
-- their amounts (the constraint is not validated against them); the board adds totals in 128 bits either way.
alter table deals add constraint deals_amount_minor_range check (amount_minor <= 1000000000000000) not valid;
