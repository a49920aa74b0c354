// The tutorial design authsvc started from, kept as it was so the benchmark compares against
// it: one hard-coded user, an HS256 access token for 10 minutes in JSON, a refresh JWT for a
// day in an HttpOnly cookie `jwt`; /refresh verifies that cookie and signs a new access
// token, with no rotation and no store. Secrets are strings from the environment.
// Two additions for the benchmark: it listens on HOST (loopback by default) rather than on
// every interface, and GET /healthz answers once it is up.
const express = require('express');
const cookieParser = require('cookie-parser');
const jwt = require('jsonwebtoken');

const app = express();
app.use(express.json());
app.use(cookieParser());

const userCredentials = {
  username: 'admin',
  password: 'admin123',
  email: 'admin@example.com',
};

app.post('/login', (req, res) => {
  const { username, password } = req.body ?? {};
  if (username === userCredentials.username && password === userCredentials.password) {
    const accessToken = jwt.sign(
      { username: userCredentials.username, email: userCredentials.email },
      process.env.ACCESS_TOKEN_SECRET,
      { expiresIn: '10m' },
    );
    const refreshToken = jwt.sign(
      { username: userCredentials.username },
      process.env.REFRESH_TOKEN_SECRET,
      { expiresIn: '1d' },
    );
    res.cookie('jwt', refreshToken, {
      httpOnly: true,
      sameSite: 'None',
      secure: true,
      maxAge: 24 * 60 * 60 * 1000,
    });
    return res.json({ accessToken });
  }
  return res.status(406).json({ message: 'Invalid credentials' });
});

app.post('/refresh', (req, res) => {
  if (req.cookies?.jwt) {
    const refreshToken = req.cookies.jwt;
    jwt.verify(refreshToken, process.env.REFRESH_TOKEN_SECRET, (err) => {
      if (err) {
        return res.status(406).json({ message: 'Unauthorized' });
      }
      const accessToken = jwt.sign(
        { username: userCredentials.username, email: userCredentials.email },
        process.env.ACCESS_TOKEN_SECRET,
        { expiresIn: '10m' },
      );
      return res.json({ accessToken });
    });
  } else {
    return res.status(406).json({ message: 'Unauthorized' });
  }
});

app.get('/healthz', (req, res) => res.json({ ok: true }));

const port = Number(process.env.PORT || 3000);
app.listen(port, process.env.HOST || '127.0.0.1', () => {
  console.log(`listening on ${port}`);
});
