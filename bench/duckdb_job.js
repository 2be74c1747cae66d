// The value_ladder job (examples/policies/value_ladder.yaml with
// examples/kpis/by_tier_segment.yaml) in DuckDB SQL, as a user would write it:
// a full sort through window functions. Usage:
//   node duckdb_job.js INPUT.csv RESULTS.csv KPIS.csv THREADS
// Value sums are exact (HUGEINT micro-units) and boundaries are applied as
// ceil(b * total), as tierscore does, so tiers can be compared exactly.
const { DuckDBInstance } = require('@duckdb/node-api');

async function main() {
  const [input, results, kpis, threads] = process.argv.slice(2);
  const db = await DuckDBInstance.create(':memory:', { threads: String(threads || 2) });
  const c = await db.connect();
  const ladder = [0.5, 0.7, 0.8, 0.9, 0.95, 0.98];
  const names = ['Diamond', 'Platinum', 'Gold', 'Silver', 'Bronze', 'Standard', 'Basic'];
  const threshold = (b) => `((${Math.round(b * 1e12)}::HUGEINT * total + 999999999999) // 1000000000000)`;
  const tierCase = (bs, ns) =>
    'CASE ' + bs.map((b, i) => `WHEN cum_before < ${threshold(b)} THEN '${ns[i]}'`).join(' ') +
    ` ELSE '${ns[ns.length - 1]}' END`;
  await c.run(`CREATE TABLE c AS SELECT * FROM read_csv('${input}', header = true,
      types = {'customer_id': 'VARCHAR', 'nps_score': 'DOUBLE'})`);
  await c.run(`CREATE TABLE scored AS
    WITH s AS (SELECT max(ln(1 + revenue_12m)) AS max_r, min(margin_12m) AS min_m,
                      max(margin_12m) AS max_m FROM c),
    x AS (
      SELECT c.*,
        0.5 * (ln(1 + revenue_12m) / max_r) + 0.3 * ((margin_12m - min_m) / (max_m - min_m))
          + 0.2 * (1 - days_since_last_order / 730) AS score,
        CASE WHEN revenue_12m > 0 THEN round(revenue_12m * 1e6)::HUGEINT ELSE 0::HUGEINT END AS micros
      FROM c, s)
    SELECT *,
      coalesce(sum(micros) OVER (ORDER BY score DESC, customer_id ASC
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS cum_before,
      sum(micros) OVER () AS total
    FROM x`);
  await c.run(`CREATE TABLE tiered AS SELECT *,
      ${tierCase(ladder, names)} AS ladder,
      ${tierCase([0.8, 0.95], ['A', 'B', 'C'])} AS abc
    FROM scored`);
  await c.run(`COPY (SELECT customer_id, score, ladder, abc, revenue_12m AS value FROM tiered)
               TO '${results}' (HEADER, DELIMITER ',')`);
  await c.run(`COPY (
    SELECT ladder, segment, count(*) AS customers, sum(revenue_12m) AS revenue,
      sum(revenue_12m) / (SELECT sum(revenue_12m) FROM c) AS revenue_share,
      sum(margin_12m) AS margin, avg(orders_12m) AS avg_orders,
      100.0 * (count_if(nps_score >= 9) - count_if(nps_score <= 6)) / count(nps_score) AS nps,
      sum(tickets_resolved) / sum(support_tickets) AS resolution_rate,
      avg(tenure_months) AS avg_tenure,
      approx_quantile(revenue_12m, 0.9) AS p90_revenue
    FROM tiered GROUP BY GROUPING SETS ((ladder, segment), (ladder), ()))
    TO '${kpis}' (HEADER, DELIMITER ',')`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
