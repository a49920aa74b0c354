// `node launch.js --host H --port P`, how the benchmark starts every server, turned into the
// environment variables the tutorial's server.js reads.
const args = process.argv.slice(2);
for (let i = 0; i + 1 < args.length; i += 2) {
  if (args[i] === '--host') process.env.HOST = args[i + 1];
  if (args[i] === '--port') process.env.PORT = args[i + 1];
}
require('./server.js');
