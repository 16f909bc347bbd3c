alter table deals drop constraint deals_amount_minor_range;
