/** The DataSource the TypeORM CLI uses (`npm run migration:run`), from the same config. */
import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/app-config.js';
import { dataSourceOptions } from './data-source.js';

export default new DataSource(dataSourceOptions(loadConfig(process.env)));
