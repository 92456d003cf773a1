import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { installBridge } from './api.js';
import { App } from './App.js';
import { selectBridge } from './bridge.js';
import { createSipEngine } from './phone/sip-engine.js';
import { installPhoneEngine } from './stores/phone.js';
import { installMonitoredCalls } from './supervisor/monitored-call.js';
import './i18n/index.js';
import { applyInitialLanguage } from './stores/ui.js';
import './styles.css';

installBridge(selectBridge());
installPhoneEngine(createSipEngine);
installMonitoredCalls();
applyInitialLanguage();

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
