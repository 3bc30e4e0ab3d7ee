import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Router } from './router.jsx';
import App from './App.jsx';
import './styles.css';

createRoot(document.getElementById('app')).render(
  <StrictMode>
    <Router>
      <App />
    </Router>
  </StrictMode>,
);
