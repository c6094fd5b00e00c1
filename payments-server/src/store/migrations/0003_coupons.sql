-- Coupons (being built).
SELECT 1;
