import './tfjs-setup';

export * from './base';
