// The view library: htm + Preact 10 with hooks, vendored unchanged (see vendor/README.md).
export {
  h, html, render, createContext, useState, useEffect, useRef, useMemo, useCallback, useContext,
  useReducer,
} from './vendor/htm-preact.mjs';
